//! arena.rs: the fixed-size Lua heap. One region is taken from the module's allocator at
//! init and handed whole to a private dlmalloc; it never grows, so a script that fills it
//! gets Lua's "not enough memory" while the rest of the module keeps working.
//!
//! Tests can make the Nth allocation from now fail (as Lua's ltests.c does) to prove that
//! every path survives an allocation failure without trapping or leaking arena space.

use alloc::alloc::{alloc, dealloc, Layout};
use core::ffi::c_void;
use core::ptr;

/// dlmalloc aligns every block to 8 bytes on wasm32 (16 on 64-bit hosts), which covers
/// every Lua type (lua_Number and lua_Integer are 8 bytes). The region itself needs no
/// more than that: asking the module's allocator for more would link dlmalloc's memalign
/// (1.2 KB of wasm) for this one call.
#[cfg(target_arch = "wasm32")]
pub(crate) const ALIGN: usize = 8;
#[cfg(not(target_arch = "wasm32"))]
const ALIGN: usize = 16;

/// What dlmalloc gets memory from. For the Lua arena: exactly one region, handed out once
/// (further requests fail, so that dlmalloc works inside it). For the module's own heap
/// (module_heap.rs, `base` null): the linker's spare heap once, then `memory.grow`, as
/// dlmalloc's wasm `System` does. One type for both keeps one copy of dlmalloc's code in
/// the module (two instantiations cost ~2 KB).
pub(crate) struct Region {
    base: *mut u8,
    size: usize,
    given: core::cell::Cell<bool>,
}

impl Region {
    /// The module heap's source of memory.
    #[cfg(target_arch = "wasm32")]
    pub(crate) const fn growing() -> Region {
        Region { base: ptr::null_mut(), size: 0, given: core::cell::Cell::new(false) }
    }

    #[cfg(target_arch = "wasm32")]
    fn grow(&self, size: usize) -> (*mut u8, usize, u32) {
        extern "C" {
            static __heap_base: u8;
            static __heap_end: u8;
        }
        if !self.given.replace(true) {
            // SAFETY: linker-defined symbols; only their addresses are taken.
            let (start, end) = unsafe { (&__heap_base as *const u8 as usize, &__heap_end as *const u8 as usize) };
            if start != 0 && end > start && end - start >= size {
                return (start as *mut u8, end - start, 0);
            }
        }
        const PAGE: usize = 64 * 1024;
        let pages = size.div_ceil(PAGE);
        let prev = core::arch::wasm32::memory_grow(0, pages);
        if prev == usize::MAX {
            return (ptr::null_mut(), 0, 0);
        }
        // The top page of a 4 GiB memory would end at address 0: keep 16 bytes back.
        let len = if (prev * PAGE).wrapping_add(pages * PAGE) == 0 { pages * PAGE - 16 } else { pages * PAGE };
        ((prev * PAGE) as *mut u8, len, 0)
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn grow(&self, _: usize) -> (*mut u8, usize, u32) {
        (ptr::null_mut(), 0, 0)
    }
}

// SAFETY: the module is single-threaded; the host tests use one arena per thread.
unsafe impl Send for Region {}

// SAFETY: a fixed region is valid, exclusively owned memory of `size` bytes for the arena's
// lifetime, handed out once with EXTERN_BIT set so dlmalloc never frees or merges it; grown
// memory is fresh pages nobody else uses.
unsafe impl dlmalloc::Allocator for Region {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        if self.base.is_null() {
            return self.grow(size);
        }
        if self.given.get() || size > self.size {
            return (ptr::null_mut(), 0, 0);
        }
        self.given.set(true);
        (self.base, self.size, 1)
    }
    fn remap(&self, _: *mut u8, _: usize, _: usize, _: bool) -> *mut u8 {
        ptr::null_mut()
    }
    fn free_part(&self, _: *mut u8, _: usize, _: usize) -> bool {
        false
    }
    fn free(&self, _: *mut u8, _: usize) -> bool {
        false
    }
    fn can_release_part(&self, _: u32) -> bool {
        false
    }
    fn allocates_zeros(&self) -> bool {
        // Fresh wasm pages are zero; the arena's region is not.
        self.base.is_null()
    }
    fn page_size(&self) -> usize {
        if self.base.is_null() {
            64 * 1024
        } else {
            4096
        }
    }
}

/// The Lua heap: a region, the dlmalloc managing it, and the counters Lua's allocator
/// function keeps.
pub struct Arena {
    heap: dlmalloc::Dlmalloc<Region>,
    region: *mut u8,
    size: usize,
    /// Bytes Lua holds right now (the sum of the sizes Lua asked for).
    pub in_use: usize,
    /// Largest `in_use` seen.
    pub peak: usize,
    /// Failure injection (as Lua's ltests.c `countlimit`): when non-zero, counts down on
    /// each allocation; the allocation that brings it to one, and every allocation after it,
    /// fails until it is set to zero again. Frees always work.
    pub fail_countdown: u32,
}

impl Arena {
    /// Takes `size` bytes from the module's allocator. `None` if they are not available.
    pub fn new(size: usize) -> Option<alloc::boxed::Box<Arena>> {
        let layout = Layout::from_size_align(size, ALIGN).ok()?;
        // SAFETY: the layout has non-zero size (checked by the caller's minimum).
        let region = unsafe { alloc(layout) };
        if region.is_null() {
            return None;
        }
        let heap = dlmalloc::Dlmalloc::new_with_allocator(Region {
            base: region,
            size,
            given: core::cell::Cell::new(false),
        });
        // Boxed: dlmalloc keeps pointers into itself (its bins) once used, so it must not move.
        Some(alloc::boxed::Box::new(Arena { heap, region, size, in_use: 0, peak: 0, fail_countdown: 0 }))
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Lua's `lua_Alloc` contract: free when `nsize == 0`, otherwise (re)allocate; `NULL`
    /// on failure leaves the old block untouched.
    ///
    /// # Safety
    /// `p` must be null or a block this arena returned with size `osize`.
    pub unsafe fn realloc(&mut self, p: *mut c_void, osize: usize, nsize: usize) -> *mut c_void {
        let old = if p.is_null() { 0 } else { osize };
        if nsize == 0 {
            if !p.is_null() {
                self.heap.free(p as *mut u8, osize, ALIGN);
                self.in_use -= old;
            }
            return ptr::null_mut();
        }
        if self.fail_countdown > 0 {
            if self.fail_countdown == 1 {
                return ptr::null_mut();
            }
            self.fail_countdown -= 1;
        }
        let q = if p.is_null() {
            self.heap.malloc(nsize, ALIGN)
        } else {
            self.heap.realloc(p as *mut u8, osize, ALIGN, nsize)
        };
        if !q.is_null() {
            self.in_use = self.in_use - old + nsize;
            self.peak = self.peak.max(self.in_use);
        }
        q as *mut c_void
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: `region` came from `alloc` with this exact layout; nothing in it is used
        // once the Lua state that lived there has been closed.
        unsafe { dealloc(self.region, Layout::from_size_align_unchecked(self.size, ALIGN)) }
    }
}

/// The `lua_Alloc` Lua is created with; `ud` is the state's `Arena`.
///
/// # Safety
/// `ud` must point to a live `Arena`; the other arguments follow Lua's allocator contract.
pub unsafe extern "C" fn lua_alloc(ud: *mut c_void, p: *mut c_void, osize: usize, nsize: usize) -> *mut c_void {
    // SAFETY: the runtime passes its boxed Arena as `ud` and outlives the Lua state.
    let arena = &mut *(ud as *mut Arena);
    arena.realloc(p, osize, nsize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_up_then_recovers() {
        let mut a = Arena::new(64 * 1024).unwrap();
        let mut blocks = alloc::vec::Vec::new();
        unsafe {
            loop {
                let p = a.realloc(ptr::null_mut(), 0, 1000);
                if p.is_null() {
                    break;
                }
                blocks.push(p);
            }
            assert!(blocks.len() > 50 && blocks.len() < 66, "{}", blocks.len());
            for p in blocks.drain(..) {
                a.realloc(p, 1000, 0);
            }
            assert_eq!(a.in_use, 0);
            assert!(!a.realloc(ptr::null_mut(), 0, 60 * 1024).is_null());
        }
    }

    #[test]
    fn fails_from_the_nth_allocation_on() {
        let mut a = Arena::new(64 * 1024).unwrap();
        a.fail_countdown = 3;
        unsafe {
            assert!(!a.realloc(ptr::null_mut(), 0, 10).is_null());
            assert!(!a.realloc(ptr::null_mut(), 0, 10).is_null());
            assert!(a.realloc(ptr::null_mut(), 0, 10).is_null());
            assert!(a.realloc(ptr::null_mut(), 0, 10).is_null());
            a.fail_countdown = 0;
            assert!(!a.realloc(ptr::null_mut(), 0, 10).is_null());
        }
        assert_eq!(a.in_use, 30);
    }
}
