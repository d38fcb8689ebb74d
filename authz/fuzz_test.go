package authz

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/walrelay/walrelay/pgembed/pgtest"
)

var placeholderRE = regexp.MustCompile(`\$(\d+)`)

// FuzzReadSQL checks, for any rule that compiles and any claims, that
// ReadSQL binds every value (placeholders and args agree), and that the
// SQL selects exactly the rows Allow accepts.
func FuzzReadSQL(f *testing.F) {
	for _, r := range readRules {
		f.Add(r, `{"sub":"alice","rooms":[1,2],"room":1,"min":1.5,"name":"b","level":3}`)
	}
	f.Add("row.body == auth.name", `{"name":"'; DROP TABLE messages; --"}`)
	f.Add("row.room_id in auth.rooms || row.author_id in auth.rooms", `{"rooms":[1,"alice",null,2.5]}`)
	f.Add("!(row.score >= auth.min) || row.uid != auth.uid", `{"min":"x","uid":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}`)
	f.Add("row.created_at < auth.t", `{"t":"2025-01-01T00:00:00Z"}`)
	url := pgtest.MustDatabase(f)
	rows := randomRows(randSource(), 40)
	insertRows(f, url, rows)
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { conn.Close(context.Background()) })
	f.Fuzz(func(t *testing.T, rule, claimsJSON string) {
		m := testModel("author_id", map[string]string{"read": rule})
		p, err := compileForFuzz(m)
		if err != nil {
			t.Skip()
		}
		var raw map[string]any
		if err := json.Unmarshal([]byte(claimsJSON), &raw); err != nil {
			t.Skip()
		}
		claims := Claims(normalizeClaims(raw).(map[string]any))
		var args []any
		where, err := p.ReadSQL(m, claims, &args)
		if err != nil {
			t.Fatal(err)
		}
		var used []int
		for _, mm := range placeholderRE.FindAllStringSubmatch(where, -1) {
			n, _ := strconv.Atoi(mm[1])
			used = append(used, n)
		}
		slices.Sort(used)
		if len(slices.Compact(used)) != len(args) || (len(used) > 0 && used[len(used)-1] != len(args)) {
			t.Fatalf("placeholders %v, %d args: %s", used, len(args), where)
		}
		var want []int64
		for _, row := range rows {
			if p.Allow(m, ActionRead, claims, row) {
				want = append(want, row["id"].(int64))
			}
		}
		got := queryIDs(t, conn, "SELECT id FROM messages WHERE "+where+" ORDER BY id", args)
		if !slices.Equal(got, want) {
			t.Fatalf("rule %q claims %v\nwhere %s %v\n got %v\nwant %v", rule, claims, where, args, got, want)
		}
	})
}

func compileForFuzz(m *walrelayModel) (*Policy, error) {
	return Compile(schemaOf(m))
}
