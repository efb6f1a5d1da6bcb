package model

// FGC is the function name of a GC op (the bundled server's crashrig_gc(),
// or OPTIMIZE TABLE on MariaDB).
const FGC = "gc"
