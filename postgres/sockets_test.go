package postgres

import (
	"slices"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// rows counts the rows of table.
func rows(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.pool.QueryRow(t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAddingATicketRemovesTicketsThatHaveExpired(t *testing.T) {
	db := open(t)
	ctx, wall := t.Context(), time.Now()
	if err := db.AddSocketTicket(ctx, "old", 1, wall.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.AddSocketTicket(ctx, "new", 1, wall.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, want := rows(t, db, "socket_tickets"), 1; got != want {
		t.Errorf("%d tickets kept, want %d", got, want)
	}
}

func TestAddingAConnectionRemovesConnectionsThatHaveExpired(t *testing.T) {
	db := open(t)
	ctx, wall := t.Context(), time.Now()
	if err := db.AddSocketConnection(ctx, claudebridge.SocketConnection{ID: "old", At: wall.Add(-3 * time.Hour), Expires: wall.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddSocketConnection(ctx, claudebridge.SocketConnection{ID: "new", At: wall, Expires: wall.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got, want := rows(t, db, "socket_connections"), 1; got != want {
		t.Errorf("%d connections kept, want %d", got, want)
	}
}

func TestAddingATurnRequestRemovesRequestsThatHaveExpired(t *testing.T) {
	db := open(t)
	ctx, wall := t.Context(), time.Now()
	if err := db.AddTurnRequest(ctx, claudebridge.TurnRequest{TurnID: "turn_1", ID: "old", At: wall.Add(-time.Hour), Expires: wall.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddTurnRequest(ctx, claudebridge.TurnRequest{TurnID: "turn_2", ID: "new", At: wall, Expires: wall.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got, want := rows(t, db, "turn_requests"), 1; got != want {
		t.Errorf("%d requests kept, want %d", got, want)
	}
}

func TestTurnRequestsOfOneTimeAreOrderedByIDByteByByteUnderALocale(t *testing.T) {
	db := openICU(t)
	at := time.Now().UTC().Truncate(time.Second).Add(time.Hour)
	for _, id := range []string{"a", "B"} {
		if err := db.AddTurnRequest(t.Context(), claudebridge.TurnRequest{TurnID: "turn_1", ID: id, Kind: claudebridge.TurnStop,
			At: at, Expires: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := db.TurnRequests(t.Context(), "turn_1", at)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range list {
		got = append(got, r.ID)
	}
	if want := []string{"B", "a"}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}
