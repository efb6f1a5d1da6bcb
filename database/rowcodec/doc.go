// Package rowcodec encodes SQL values for storage.
//
// Two encodings exist:
//
//   - The row (value) encoding is self-describing: every value is a one-byte
//     type tag followed by its bytes, so rows decode without a schema and
//     survive schema changes that the ALTER path rewrites.
//   - The key encoding is order-preserving: bytewise comparison of encoded
//     keys matches SQL ordering of the values (binary collation for
//     strings), so primary keys and secondary indexes live in ordered trees
//     and range lookups are byte ranges.
package rowcodec
