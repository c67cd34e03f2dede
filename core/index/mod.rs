//! Building blocks for external-table indices (B-tree and hash indices, queries).
//!
//! - `keys`: an order-preserving ("memcomparable") byte encoding of indexable Lua values
//!   (booleans, numbers, strings), so that plain byte comparison of encodings gives the
//!   order queries need, and `encode(value) ++ record_key` composite keys sort by value
//!   first, then by record key.
//! - `btree`: `BTree`, an ordered set of byte strings in an arena-allocated B+ tree, with
//!   insert/remove/contains and ascending/descending range iteration.
pub mod btree;
pub mod keys;
