// Package proto holds crashrig's gRPC protocol between the DCRTS agent and
// the control plane (crashrig.proto). The generated Go code lives in
// crashrigpb and is committed; regenerate it with
//
//	go generate ./proto
//
// which runs protoc (Debian's protobuf-compiler) with the protoc-gen-go and
// protoc-gen-go-grpc versions pinned by go.mod's tool directives.
// check-generated.sh fails when the committed code is stale.
package proto

//go:generate sh gen.sh crashrigpb
