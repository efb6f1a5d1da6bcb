package main

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/crashrig/crashrig/proto/crashrigpb"
)

// Event size bounds. gRPC refuses messages over 4 MiB and ends the stream;
// events stay far below that, whatever the server logs.
const (
	maxEventString = 4 << 10   // any one string (a log line)
	maxEventBytes  = 256 << 10 // a whole event
)

// boundEvent cuts ev down in place: every string field, in any event kind,
// is made valid UTF-8 (proto3 refuses to marshal anything else) and
// truncated to maxEventString with a marker; then, while the event is over
// maxEventBytes, the oldest half of its largest string list (a log tail) is
// replaced by a marker. It reports whether the event now fits.
func boundEvent(ev *pb.Event) bool {
	m := ev.ProtoReflect()
	boundStrings(m)
	// Each round at least halves one list; the bound only guards against
	// an event shape where halving cannot shrink it.
	for range 64 {
		if proto.Size(ev) <= maxEventBytes {
			return true
		}
		if !halveLargestList(m) {
			return false
		}
	}
	return proto.Size(ev) <= maxEventBytes
}

// truncateLine makes s valid UTF-8 of at most max bytes (plus a marker).
func truncateLine(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf(" [dcrts: %d bytes cut]", len(s)-cut)
}

// boundStrings applies truncateLine to every string in m, recursively.
func boundStrings(m protoreflect.Message) {
	type field struct {
		fd protoreflect.FieldDescriptor
		v  protoreflect.Value
	}
	var fields []field // collected first: m must not change while ranged
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		fields = append(fields, field{fd, v})
		return true
	})
	for _, f := range fields {
		switch {
		case f.fd.IsMap():
			// No event has maps.
		case f.fd.IsList():
			l := f.v.List()
			for i := range l.Len() {
				switch f.fd.Kind() {
				case protoreflect.StringKind:
					l.Set(i, protoreflect.ValueOfString(truncateLine(l.Get(i).String(), maxEventString)))
				case protoreflect.MessageKind, protoreflect.GroupKind:
					boundStrings(l.Get(i).Message())
				}
			}
		case f.fd.Kind() == protoreflect.StringKind:
			m.Set(f.fd, protoreflect.ValueOfString(truncateLine(f.v.String(), maxEventString)))
		case f.fd.Kind() == protoreflect.MessageKind || f.fd.Kind() == protoreflect.GroupKind:
			boundStrings(f.v.Message())
		}
	}
}

// halveLargestList replaces the older half of the largest repeated string
// field in m (recursively) by one marker line; false if none has more
// than one entry.
func halveLargestList(m protoreflect.Message) bool {
	var best protoreflect.List
	bestSize := 0
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsMap():
			case fd.IsList() && fd.Kind() == protoreflect.StringKind:
				l := v.List()
				size := 0
				for i := range l.Len() {
					size += len(l.Get(i).String())
				}
				if l.Len() > 1 && size > bestSize {
					best, bestSize = l, size
				}
			case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
				for i := range v.List().Len() {
					walk(v.List().Get(i).Message())
				}
			case !fd.IsList() && fd.Kind() == protoreflect.MessageKind:
				walk(v.Message())
			}
			return true
		})
	}
	walk(m)
	if best == nil {
		return false
	}
	n := best.Len()
	drop := n / 2
	kept := make([]string, 0, n-drop)
	for i := drop; i < n; i++ {
		kept = append(kept, best.Get(i).String())
	}
	best.Truncate(0)
	best.Append(protoreflect.ValueOfString(fmt.Sprintf("[dcrts: %d earlier lines cut to fit the event]", drop)))
	for _, k := range kept {
		best.Append(protoreflect.ValueOfString(k))
	}
	return true
}
