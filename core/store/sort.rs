//! sort.rs: the one sort the store uses (key lists, index builds, query results, the change
//! set), on positions with a comparator: a bottom-up merge sort, or, when only the k
//! smallest of many are wanted (a page of a query), a heap selection in O(n + k log n).
//! One small non-generic function instead of the standard library's sorts, which cost
//! ~26 KB of wasm when instantiated for each element type.

use alloc::vec::Vec;
use core::cmp::Ordering;

/// The positions `0..n` in the order of `cmp`, keeping only the first `k` (all when k >= n).
pub fn order(n: usize, k: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<u32> {
    let mut h: Vec<u32> = (0..n as u32).collect();
    if k >= n / 8 {
        // Merge runs of width 1, 2, 4, ... between two buffers (stable).
        let mut b = h.clone();
        let mut w = 1;
        while w < n {
            let mut i = 0;
            while i < n {
                let (mid, end) = ((i + w).min(n), (i + 2 * w).min(n));
                let (mut x, mut y) = (i, mid);
                for o in &mut b[i..end] {
                    let take_x = y >= end || (x < mid && cmp(h[x] as usize, h[y] as usize) != Ordering::Greater);
                    *o = if take_x { x += 1; h[x - 1] } else { y += 1; h[y - 1] };
                }
                i = end;
            }
            core::mem::swap(&mut h, &mut b);
            w *= 2;
        }
        h.truncate(k);
        return h;
    }
    let less = |a: u32, b: u32| cmp(a as usize, b as usize) == Ordering::Less;
    // A min-heap: h[i] <= both children.
    let sift = |h: &mut [u32], mut i: usize| loop {
        let l = 2 * i + 1;
        if l >= h.len() {
            break;
        }
        let c = if l + 1 < h.len() && less(h[l + 1], h[l]) { l + 1 } else { l };
        if !less(h[c], h[i]) {
            break;
        }
        h.swap(i, c);
        i = c;
    };
    for i in (0..n / 2).rev() {
        sift(&mut h, i);
    }
    let mut out = Vec::with_capacity(k.min(n));
    let mut end = n;
    while out.len() < k && end > 0 {
        out.push(h[0]);
        end -= 1;
        h.swap(0, end);
        sift(&mut h[..end], 0);
    }
    out
}

/// The positions `0..n` in order, given each one's first 24 bytes as three big-endian words
/// (`prefix`) and, for runs of equal prefixes (rare), the full comparison `tie`: integer
/// comparisons instead of a comparator call per step (index builds, key lists).
pub fn order_by_prefix(n: usize, prefix: &mut dyn FnMut(usize) -> [u64; 3], tie: &dyn Fn(usize, usize) -> Ordering) -> Vec<u32> {
    let mut keyed: Vec<([u64; 3], u32)> = (0..n).map(|i| (prefix(i), i as u32)).collect();
    sort_keyed(&mut keyed);
    let mut ord: Vec<u32> = Vec::with_capacity(n);
    let mut at = 0;
    while at < keyed.len() {
        let end = at + keyed[at..].iter().take_while(|k| k.0 == keyed[at].0).count();
        let run = &keyed[at..end];
        if run.len() == 1 {
            ord.push(run[0].1);
        } else {
            ord.extend(order(run.len(), usize::MAX, &|a, b| tie(run[a].1 as usize, run[b].1 as usize)).iter().map(|&i| run[i as usize].1));
        }
        at = end;
    }
    ord
}

/// The three words `order_by_prefix` sorts bytes by.
pub fn prefix(b: &[u8]) -> [u64; 3] {
    [word(b, 0), word(b, 8), word(b, 16)]
}

/// Sorts `(key, position)` pairs by key, then position: a bottom-up merge sort for the
/// index build, where a comparator call per step would cost more than the comparisons.
pub fn sort_keyed(v: &mut Vec<([u64; 3], u32)>) {
    let n = v.len();
    let mut b = v.clone();
    let mut w = 1;
    while w < n {
        for (src, dst) in v.chunks(2 * w).zip(b.chunks_mut(2 * w)) {
            let (mut l, mut r) = src.split_at(w.min(src.len()));
            for o in dst.iter_mut() {
                let take_r = match (l.first(), r.first()) {
                    (Some(x), Some(y)) => y < x,
                    (x, _) => x.is_none(),
                };
                let side = if take_r { &mut r } else { &mut l };
                if let Some((first, rest)) = side.split_first() {
                    *o = *first;
                    *side = rest;
                }
            }
        }
        core::mem::swap(v, &mut b);
        w *= 2;
    }
}

/// The 8 bytes of `b` from `at` as a big-endian word (zeros past the end), so that words
/// compare as the bytes do.
#[inline]
pub fn word(b: &[u8], at: usize) -> u64 {
    if let Some(w) = b.get(at..at + 8) {
        return u64::from_be_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
    }
    let mut w = 0;
    for i in 0..8 {
        w = w << 8 | *b.get(at + i).unwrap_or(&0) as u64;
    }
    w
}

/// `a.cmp(b)` from byte `from` on, a word at a time (the bytes before are equal).
pub fn cmp_bytes(a: &[u8], b: &[u8], from: usize) -> Ordering {
    let mut i = from;
    while i < a.len() && i < b.len() {
        match word(a, i).cmp(&word(b, i)) {
            Ordering::Equal => i += 8,
            o => return o,
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_selects() {
        let v: Vec<u32> = (0..1000u32).map(|i| i * 7919 % 1009).collect();
        let all = order(v.len(), usize::MAX, &|a, b| v[a].cmp(&v[b]).then(a.cmp(&b)));
        let sorted: Vec<u32> = all.iter().map(|&i| v[i as usize]).collect();
        let mut want = v.clone();
        want.sort();
        assert_eq!(sorted, want);
        let top = order(v.len(), 10, &|a, b| v[b].cmp(&v[a]));
        let stable = order(v.len(), 500, &|a, b| (v[a] % 3).cmp(&(v[b] % 3)));
        assert!(stable.windows(2).all(|w| v[w[0] as usize] % 3 < v[w[1] as usize] % 3 || w[0] < w[1]));
        assert_eq!(top.iter().map(|&i| v[i as usize]).collect::<Vec<_>>(), want.iter().rev().take(10).copied().collect::<Vec<_>>());
        assert!(order(0, 5, &|_, _| Ordering::Equal).is_empty());
        let mut keyed: Vec<([u64; 3], u32)> = v.iter().enumerate().map(|(i, &x)| ([x as u64 % 7, 0, x as u64], i as u32)).collect();
        let mut want_keyed = keyed.clone();
        want_keyed.sort();
        sort_keyed(&mut keyed);
        assert_eq!(keyed, want_keyed);
        let words: [&[u8]; 7] = [b"", b"\0", b"a", b"a\0", b"abcdefgh", b"abcdefgh\0", b"abcdefghi"];
        for a in words {
            for b in words {
                assert_eq!(cmp_bytes(a, b, 0), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }
}
