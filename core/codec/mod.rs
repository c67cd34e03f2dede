//! codec: the value serializer for persistence (work in progress).
