//! `BTree`: an ordered set of byte strings, stored as a B+ tree in a `Vec` arena.
//!
//! Nodes are addressed by u32 index; freed nodes go on a free list. Leaves hold the keys
//! and are doubly linked in key order, which makes range iteration in both directions a
//! walk along the leaves. Inner nodes hold separators: every key in `kids[i]` is
//! `< keys[i]`, every key in `kids[i + 1]` is `>= keys[i]` (a separator may outlive the key
//! it was copied from). Every node but the root holds between MIN and MAX keys (leaves) or
//! children (inner nodes); all leaves are at the same depth. Recursion depth is the height.
use alloc::vec::Vec;
use core::mem::take;
use core::ops::Bound;

const MAX: usize = 32;
const MIN: usize = MAX / 2;
const NIL: u32 = u32::MAX;

#[derive(Default)]
struct Node {
    keys: Vec<Vec<u8>>,
    /// Empty for a leaf.
    kids: Vec<u32>,
    /// Leaf links (NIL at the ends).
    prev: u32,
    next: u32,
}

impl Node {
    fn leaf() -> Node {
        Node {
            keys: Vec::new(),
            kids: Vec::new(),
            prev: NIL,
            next: NIL,
        }
    }
    fn is_leaf(&self) -> bool {
        self.kids.is_empty()
    }
    fn underfull(&self) -> bool {
        if self.is_leaf() {
            self.keys.len() < MIN
        } else {
            self.kids.len() < MIN
        }
    }
    /// The child that would hold `key` (inner nodes).
    fn child(&self, key: &[u8]) -> usize {
        self.keys.partition_point(|s| s.as_slice() <= key)
    }
}

/// An ordered set of byte strings.
pub struct BTree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    len: usize,
}

impl Default for BTree {
    fn default() -> Self {
        Self::new()
    }
}

/// A position in the leaf chain: `(leaf, index)` with index < the leaf's length, or
/// `(NIL, 0)` past the last key. Canonical, so positions compare with `==`.
type Pos = (u32, usize);

impl BTree {
    pub fn new() -> BTree {
        BTree {
            nodes: alloc::vec![Node::leaf()],
            free: Vec::new(),
            root: 0,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        *self = BTree::new();
    }

    fn node(&self, n: u32) -> &Node {
        &self.nodes[n as usize]
    }

    fn nm(&mut self, n: u32) -> &mut Node {
        &mut self.nodes[n as usize]
    }

    fn alloc(&mut self, node: Node) -> u32 {
        if let Some(n) = self.free.pop() {
            *self.nm(n) = node;
            n
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        }
    }

    fn release(&mut self, n: u32) {
        *self.nm(n) = Node::default();
        self.free.push(n);
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        let mut n = self.root;
        loop {
            let node = self.node(n);
            if node.is_leaf() {
                return node.keys.binary_search_by(|k| k.as_slice().cmp(key)).is_ok();
            }
            n = node.kids[node.child(key)];
        }
    }

    /// Adds `key`; false if it was already present.
    pub fn insert(&mut self, key: &[u8]) -> bool {
        let root = self.root;
        match self.ins(root, key) {
            None => false,
            Some(split) => {
                if let Some((sep, r)) = split {
                    let keys = alloc::vec![sep];
                    let kids = alloc::vec![root, r];
                    self.root = self.alloc(Node {
                        keys,
                        kids,
                        prev: NIL,
                        next: NIL,
                    });
                }
                self.len += 1;
                true
            }
        }
    }

    /// None if present; else Some(the split of `n`, if it overflowed: separator, new right
    /// sibling).
    fn ins(&mut self, n: u32, key: &[u8]) -> Option<Option<(Vec<u8>, u32)>> {
        let node = self.nm(n);
        if node.is_leaf() {
            let p = node.keys.binary_search_by(|k| k.as_slice().cmp(key)).err()?;
            node.keys.insert(p, key.to_vec());
            if node.keys.len() <= MAX {
                return Some(None);
            }
            let keys = node.keys.split_off(node.keys.len() / 2);
            let sep = keys[0].clone();
            let next = node.next;
            let r = self.alloc(Node {
                keys,
                kids: Vec::new(),
                prev: n,
                next,
            });
            if next != NIL {
                self.nm(next).prev = r;
            }
            self.nm(n).next = r;
            return Some(Some((sep, r)));
        }
        let i = node.child(key);
        let c = node.kids[i];
        let split = self.ins(c, key)?;
        let Some((sep, r)) = split else { return Some(None) };
        let node = self.nm(n);
        node.keys.insert(i, sep);
        node.kids.insert(i + 1, r);
        if node.kids.len() <= MAX {
            return Some(None);
        }
        let half = node.kids.len() / 2;
        let kids = node.kids.split_off(half);
        let keys = node.keys.split_off(half);
        let sep = node.keys.pop().unwrap_or_default();
        let r = self.alloc(Node {
            keys,
            kids,
            prev: NIL,
            next: NIL,
        });
        Some(Some((sep, r)))
    }

    /// Removes `key`; false if it was not present.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        let root = self.root;
        if !self.rem(root, key) {
            return false;
        }
        self.len -= 1;
        let node = self.node(root);
        if node.kids.len() == 1 {
            self.root = node.kids[0];
            self.release(root);
        }
        true
    }

    fn rem(&mut self, n: u32, key: &[u8]) -> bool {
        let node = self.nm(n);
        if node.is_leaf() {
            return match node.keys.binary_search_by(|k| k.as_slice().cmp(key)) {
                Ok(p) => {
                    node.keys.remove(p);
                    true
                }
                Err(_) => false,
            };
        }
        let i = node.child(key);
        let c = node.kids[i];
        if !self.rem(c, key) {
            return false;
        }
        if self.node(c).underfull() {
            self.fix(n, i);
        }
        true
    }

    /// Child `i` of inner node `p` is underfull: merge it with a sibling, or share keys.
    fn fix(&mut self, p: u32, i: usize) {
        let j = i.saturating_sub(1);
        let (a, b) = (self.node(p).kids[j], self.node(p).kids[j + 1]);
        let mut bkeys = take(&mut self.nm(b).keys);
        let mut bkids = take(&mut self.nm(b).kids);
        let bnext = self.node(b).next;
        let leaf = bkids.is_empty();
        let an = self.nm(a);
        let total = if leaf {
            an.keys.len() + bkeys.len()
        } else {
            an.kids.len() + bkids.len()
        };
        if total <= MAX {
            // Merge b into a.
            let sep = self.nm(p).keys.remove(j);
            self.nm(p).kids.remove(j + 1);
            let an = self.nm(a);
            if leaf {
                an.next = bnext;
            } else {
                an.keys.push(sep);
            }
            an.keys.append(&mut bkeys);
            an.kids.append(&mut bkids);
            if leaf && bnext != NIL {
                self.nm(bnext).prev = a;
            }
            self.release(b);
            return;
        }
        // Share evenly.
        let mut keys = take(&mut an.keys);
        let sep;
        if leaf {
            keys.append(&mut bkeys);
            let right = keys.split_off(total / 2);
            sep = right[0].clone();
            self.nm(b).keys = right;
        } else {
            let mut kids = take(&mut an.kids);
            keys.push(take(&mut self.nm(p).keys[j]));
            keys.append(&mut bkeys);
            kids.append(&mut bkids);
            let half = kids.len() / 2;
            let bn = self.nm(b);
            bn.kids = kids.split_off(half);
            bn.keys = keys.split_off(half);
            sep = keys.pop().unwrap_or_default();
            self.nm(a).kids = kids;
        }
        self.nm(a).keys = keys;
        self.nm(p).keys[j] = sep;
    }

    /// The position of the first key `>= key` (`> key` if `strict`), or of the first key
    /// if `key` is None.
    fn seek(&self, key: Option<&[u8]>, strict: bool) -> Pos {
        let mut n = self.root;
        loop {
            let node = self.node(n);
            if node.is_leaf() {
                let i = match key {
                    None => 0,
                    Some(k) => node
                        .keys
                        .partition_point(|x| if strict { x.as_slice() <= k } else { x.as_slice() < k }),
                };
                return self.norm((n, i));
            }
            n = node.kids[match key {
                None => 0,
                Some(k) => node.child(k),
            }];
        }
    }

    /// Makes a position canonical.
    fn norm(&self, (mut n, i): Pos) -> Pos {
        if i < self.node(n).keys.len() {
            return (n, i);
        }
        // Only the root leaf may be empty; other leaves hold keys.
        n = self.node(n).next;
        if n != NIL && !self.node(n).keys.is_empty() {
            (n, 0)
        } else {
            (NIL, 0)
        }
    }

    /// The position before `pos`, which must not be the first.
    fn prev(&self, (n, i): Pos) -> Pos {
        if i > 0 {
            return (n, i - 1);
        }
        let p = if n == NIL {
            let mut n = self.root;
            while !self.node(n).is_leaf() {
                n = *self.node(n).kids.last().unwrap_or(&0);
            }
            n
        } else {
            self.node(n).prev
        };
        if p == NIL {
            return (NIL, 0);
        }
        (p, self.node(p).keys.len().wrapping_sub(1))
    }

    fn key(&self, (n, i): Pos) -> &[u8] {
        &self.node(n).keys[i]
    }

    /// The keys in the range, ascending; `.rev()` (or `next_back`) for descending.
    pub fn range(&self, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> Range<'_> {
        let start = match lo {
            Bound::Included(k) => self.seek(Some(k), false),
            Bound::Excluded(k) => self.seek(Some(k), true),
            Bound::Unbounded => self.seek(None, false),
        };
        let end = match hi {
            Bound::Included(k) => self.seek(Some(k), true),
            Bound::Excluded(k) => self.seek(Some(k), false),
            Bound::Unbounded => (NIL, 0),
        };
        // An empty range whose start lies past its end would walk too far: cut it here.
        let empty = match (lo, hi) {
            (Bound::Included(a), Bound::Included(b)) => a > b,
            (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => a >= b,
            _ => false,
        };
        let end = if empty { start } else { end };
        Range {
            t: self,
            front: start,
            back: end,
        }
    }

    /// The keys in the range, descending.
    pub fn range_rev(&self, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> core::iter::Rev<Range<'_>> {
        self.range(lo, hi).rev()
    }

    /// Calls `f` with the size in bytes of each heap allocation the tree holds.
    pub fn allocations(&self, f: &mut dyn FnMut(usize)) {
        f(self.nodes.capacity() * core::mem::size_of::<Node>());
        f(self.free.capacity() * 4);
        for n in &self.nodes {
            f(n.keys.capacity() * core::mem::size_of::<Vec<u8>>());
            f(n.kids.capacity() * 4);
            n.keys.iter().for_each(|k| f(k.capacity()));
        }
    }

    /// All keys, ascending.
    pub fn iter(&self) -> Range<'_> {
        self.range(Bound::Unbounded, Bound::Unbounded)
    }

    /// The number of keys in the range (walks it).
    pub fn count_range(&self, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> usize {
        self.range(lo, hi).count()
    }

    /// A tree holding `keys`, which must be strictly ascending: built bottom-up, each
    /// level cut into nodes of between MIN and MAX entries (leaves filled to 3/4, so
    /// inserts do not split at once), much faster than inserting one by one.
    pub fn from_sorted(keys: Vec<Vec<u8>>) -> BTree {
        let mut t = BTree::new();
        t.len = keys.len();
        if keys.len() <= MAX {
            t.nodes[0].keys = keys;
            return t;
        }
        t.nodes.clear();
        // (node, smallest key below it) for the level being built.
        let mut level: Vec<(u32, Vec<u8>)> = Vec::new();
        let mut rest = keys.into_iter();
        for size in split(t.len, MAX * 3 / 4) {
            let keys: Vec<Vec<u8>> = rest.by_ref().take(size).collect();
            let first = keys[0].clone();
            let n = t.nodes.len() as u32;
            let prev = if n == 0 { NIL } else { n - 1 };
            t.nodes.push(Node { keys, kids: Vec::new(), prev, next: NIL });
            if n > 0 {
                t.nodes[n as usize - 1].next = n;
            }
            level.push((n, first));
        }
        while level.len() > 1 {
            let mut above = Vec::new();
            let n = level.len();
            let mut rest = level.into_iter();
            for size in split(n, MAX) {
                let group: Vec<(u32, Vec<u8>)> = rest.by_ref().take(size).collect();
                let mut it = group.into_iter();
                let (k0, first) = it.next().unwrap_or((NIL, Vec::new()));
                let mut node = Node { keys: Vec::new(), kids: alloc::vec![k0], prev: NIL, next: NIL };
                for (kid, min) in it {
                    node.kids.push(kid);
                    node.keys.push(min);
                }
                above.push((t.nodes.len() as u32, first));
                t.nodes.push(node);
            }
            level = above;
        }
        t.root = level[0].0;
        t
    }

    /// Checks the structural invariants (for tests).
    #[doc(hidden)]
    pub fn check_invariants(&self) -> bool {
        let mut leaves = Vec::new();
        let mut stack = alloc::vec![(self.root, 0usize, None::<&[u8]>, None::<&[u8]>)];
        let mut depth = None;
        let mut count = 0;
        while let Some((n, d, lo, hi)) = stack.pop() {
            let node = self.node(n);
            let root = n == self.root;
            if !node.keys.windows(2).all(|w| w[0] < w[1])
                || !node.keys.iter().all(|k| lo.is_none_or(|l| l <= k.as_slice()))
                || !node.keys.iter().all(|k| hi.is_none_or(|h| k.as_slice() < h))
            {
                return false;
            }
            if node.is_leaf() {
                if (!root && node.keys.len() < MIN) || node.keys.len() > MAX {
                    return false;
                }
                if *depth.get_or_insert(d) != d {
                    return false;
                }
                count += node.keys.len();
                leaves.push(n);
                continue;
            }
            let k = node.kids.len();
            if k != node.keys.len() + 1 || k > MAX || (!root && k < MIN) || (root && k < 2) {
                return false;
            }
            for (c, &kid) in node.kids.iter().enumerate().rev() {
                let l = if c == 0 { lo } else { Some(node.keys[c - 1].as_slice()) };
                let h = if c == k - 1 { hi } else { Some(node.keys[c].as_slice()) };
                stack.push((kid, d + 1, l, h));
            }
        }
        // Leaves were visited left to right: check the links.
        for (x, &n) in leaves.iter().enumerate() {
            let want_prev = if x == 0 { NIL } else { leaves[x - 1] };
            let want_next = leaves.get(x + 1).copied().unwrap_or(NIL);
            if self.node(n).prev != want_prev || self.node(n).next != want_next {
                return false;
            }
        }
        count == self.len && self.nodes.len() == leaves.len() + self.free.len() + self.inner_count()
    }

    fn inner_count(&self) -> usize {
        let mut c = 0;
        let mut stack = alloc::vec![self.root];
        while let Some(n) = stack.pop() {
            if !self.node(n).is_leaf() {
                c += 1;
                stack.extend_from_slice(&self.node(n).kids);
            }
        }
        c
    }
}

/// Sizes that cut `n` items (n > max) into nodes of at most `max` and at least MIN, as
/// even as possible.
fn split(n: usize, max: usize) -> impl Iterator<Item = usize> {
    let parts = n.div_ceil(max).max(1);
    (0..parts).map(move |i| n / parts + (i < n % parts) as usize)
}

/// An iterator over a range of a `BTree`, from either end.
pub struct Range<'a> {
    t: &'a BTree,
    front: Pos,
    back: Pos,
}

impl<'a> Iterator for Range<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front == self.back {
            return None;
        }
        let k = self.t.key(self.front);
        self.front = self.t.norm((self.front.0, self.front.1 + 1));
        Some(k)
    }
}

impl<'a> DoubleEndedIterator for Range<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.front == self.back {
            return None;
        }
        self.back = self.t.prev(self.back);
        Some(self.t.key(self.back))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_and_shrink() {
        let mut t = BTree::new();
        for i in 0..10_000u32 {
            // 7919 is prime to 5000: a permutation, inserted twice.
            assert_eq!(t.insert(&(i * 7919 % 5000).to_be_bytes()), i < 5000);
        }
        assert!(t.check_invariants() && t.len() == 5000 && !t.node(t.root).is_leaf());
        let k = |i: u32| i.to_be_bytes();
        let (lo, hi) = (k(10), k(20));
        let v: Vec<&[u8]> = t.range(Bound::Excluded(&lo), Bound::Included(&hi)).rev().collect();
        assert_eq!(v.len(), 10);
        assert_eq!(v[0], k(20));
        for i in 0..5000 {
            assert!(t.remove(&k(i)));
            assert!(!t.contains(&k(i)));
        }
        assert!(t.check_invariants() && t.is_empty() && t.node(t.root).is_leaf());
        assert_eq!(t.free.len() + 1, t.nodes.len());
    }

    #[test]
    fn from_sorted_builds_a_valid_tree() {
        for n in [0u32, 1, 31, 32, 33, 100, 1000, 24 * 32 + 1, 40_000] {
            let keys: Vec<Vec<u8>> = (0..n).map(|i| (i * 2).to_be_bytes().to_vec()).collect();
            let mut t = BTree::from_sorted(keys.clone());
            assert!(t.check_invariants(), "n = {n}");
            assert!(t.iter().eq(keys.iter().map(|k| k.as_slice())));
            // Still a working tree: odd keys in, even keys out.
            for i in 0..n.min(3000) {
                assert!(t.insert(&(i * 2 + 1).to_be_bytes()));
                assert!(t.remove(&(i * 2).to_be_bytes()));
            }
            assert!(t.check_invariants(), "n = {n} after updates");
        }
    }
}
