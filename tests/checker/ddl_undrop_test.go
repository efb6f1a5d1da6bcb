package checker

import (
	"testing"

	"github.com/crashrig/crashrig/tests/model"
)

// A drop-and-undrop lifecycle (Dolt's dolt_undrop): an acknowledged undrop
// must bring the database back with its table and rows; an undrop that is
// lost leaves the database absent, as the DROP left it.
func TestCheckDDLUndrop(t *testing.T) {
	b := newHB()
	for step := 0; step <= 4; step++ { // CREATE, CREATE TABLE, INSERT, DROP, UNDROP
		b.op(0, "ddl", model.FDDL, model.DDLValue{Obj: "u0", Kind: model.KindUndropDatabase, Step: step}, ok)
	}
	b.crash()
	h := b.h()
	back := model.DDLState{Objects: map[string]model.ObjState{"u0": {Kind: model.KindUndropDatabase, Tables: []string{"t"}, Rows: 2}}}
	expectProblems(t, CheckDDL(h, "ddl", back), nil)
	expectProblems(t, CheckDDL(h, "ddl", model.DDLState{Objects: map[string]model.ObjState{}}),
		map[string]string{"lost": "UNDROP DATABASE"})
	empty := model.DDLState{Objects: map[string]model.ObjState{"u0": {Kind: model.KindUndropDatabase}}}
	expectProblems(t, CheckDDL(h, "ddl", empty), map[string]string{"lost": "step 1"})
}
