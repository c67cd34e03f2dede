//! sort.rs: the one sort the store uses (key lists, index builds, query results, the change
//! set): a heapsort of positions with a comparator, which also selects the k smallest in
//! O(n + k log n). One small non-generic function instead of the standard library's sorts,
//! which cost ~26 KB of wasm when instantiated for each element type. Not stable: callers'
//! comparators are total (ties broken by record key or position).

use alloc::vec::Vec;
use core::cmp::Ordering;

/// The positions `0..n` in the order of `cmp`, keeping only the first `k` (all when k >= n).
pub fn order(n: usize, k: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<u32> {
    let mut h: Vec<u32> = (0..n as u32).collect();
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
        assert_eq!(top.iter().map(|&i| v[i as usize]).collect::<Vec<_>>(), want.iter().rev().take(10).copied().collect::<Vec<_>>());
        assert!(order(0, 5, &|_, _| Ordering::Equal).is_empty());
    }
}
