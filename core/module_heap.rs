//! module_heap.rs: the module's global allocator on wasm32 (the I/O buffer, replies, output
//! records, the arena's region itself): dlmalloc over `memory.grow`, instantiated with the
//! same `Region` type as the Lua arena so that dlmalloc's code is in the module once.
//!
//! Every block is 8-aligned, which is all any type the module allocates needs; a layout
//! asking for more fails (a trap through handle_alloc_error) instead of linking dlmalloc's
//! memalign, which nothing uses.

use crate::arena::{Region, ALIGN};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{addr_of_mut, null_mut};

static mut HEAP: dlmalloc::Dlmalloc<Region> = dlmalloc::Dlmalloc::new_with_allocator(Region::growing());
/// Bytes in blocks handed out (the STATS op reports it: external tables live here).
static mut IN_USE: usize = 0;

/// Bytes of the module's heap in use (the Lua arena counts as one block).
pub fn in_use() -> usize {
    // SAFETY: single-threaded; a plain read.
    unsafe { IN_USE }
}

pub struct ModuleHeap;

/// `p`, after counting `size` bytes in use if the allocation succeeded.
///
/// # Safety
/// Single-threaded (see `in_use`).
#[inline(always)]
unsafe fn counted(p: *mut u8, size: usize) -> *mut u8 {
    if !p.is_null() {
        IN_USE += size;
    }
    p
}

// SAFETY: the module is single-threaded, so `HEAP` is never used by two callers at once;
// dlmalloc returns blocks of the requested size, ALIGN-aligned, which satisfies every
// layout accepted here.
unsafe impl GlobalAlloc for ModuleHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() > ALIGN {
            return null_mut();
        }
        counted((*addr_of_mut!(HEAP)).malloc(layout.size(), ALIGN), layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() > ALIGN {
            return null_mut();
        }
        counted((*addr_of_mut!(HEAP)).calloc(layout.size(), ALIGN), layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE -= layout.size();
        (*addr_of_mut!(HEAP)).free(ptr, layout.size(), ALIGN)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() > ALIGN {
            return null_mut();
        }
        let p = (*addr_of_mut!(HEAP)).realloc(ptr, layout.size(), ALIGN, new_size);
        if !p.is_null() {
            IN_USE = IN_USE - layout.size() + new_size;
        }
        p
    }
}
