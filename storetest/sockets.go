package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/claudebridge/claudebridge"
)

// sockets checks claudebridge.SocketService: tickets that open a
// WebSocket once, the connections open now, and the requests pages make
// of a running turn. Every expiry is an hour or more ahead of the wall
// clock and every read passes its own now: the stores may sweep rows that
// expired by their clock as they add others, and an expiry the read's
// now has reached must be left out by the read itself (DynamoDB's TTL
// removes items late).
func sockets(t *testing.T, open func(t *testing.T) Store) {
	runAll(t, open, []behaviour{
		{"ATicketIsRedeemedOnceForItsUser", aTicketIsRedeemedOnceForItsUser},
		{"OfTenRedeemingOneTicketAtOnceOneSucceeds", ofTenRedeemingOneTicketAtOnceOneSucceeds},
		{"ATicketIsRefusedFromItsExpiryOn", aTicketIsRefusedFromItsExpiryOn},
		{"AnUnknownTicketIsRefused", anUnknownTicketIsRefused},
		{"AConnectionReadsBackAsAdded", aConnectionReadsBackAsAdded},
		{"AConnectionAddedAgainIsReplaced", aConnectionAddedAgainIsReplaced},
		{"AConnectionIsNotFoundFromItsExpiryOn", aConnectionIsNotFoundFromItsExpiryOn},
		{"ARemovedConnectionIsNotFound", aRemovedConnectionIsNotFound},
		{"RemovingAnAbsentConnectionIsNotAnError", removingAnAbsentConnectionIsNotAnError},
		{"ATurnRequestReadsBackAsAdded", aTurnRequestReadsBackAsAdded},
		{"TurnRequestsComeOldestFirstThenByID", turnRequestsComeOldestFirstThenByID},
		{"ATurnRequestAddedAgainIsReplaced", aTurnRequestAddedAgainIsReplaced},
		{"ATurnRequestIsLeftOutFromItsExpiryOn", aTurnRequestIsLeftOutFromItsExpiryOn},
		{"AnotherTurnsRequestsAreLeftOut", anotherTurnsRequestsAreLeftOut},
		{"ATurnRequestNeedsItsTurnAndItsID", aTurnRequestNeedsItsTurnAndItsID},
	})
}

// socketClock is a time an hour ahead of the wall clock, to the second,
// which every engine keeps exactly.
func socketClock() time.Time { return time.Now().UTC().Truncate(time.Second).Add(time.Hour) }

// ticketHash stands for the SHA-256 hex of a ticket's text.
const ticketHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func addTicket(t *testing.T, s Store, hash string, userID int64, expires time.Time) {
	t.Helper()
	if err := s.AddSocketTicket(t.Context(), hash, userID, expires); err != nil {
		t.Fatalf("AddSocketTicket: %v", err)
	}
}

func aTicketIsRedeemedOnceForItsUser(t *testing.T, s Store) {
	at := socketClock()
	addTicket(t, s, ticketHash, 7, at.Add(time.Minute))
	addTicket(t, s, "other-"+ticketHash, 8, at.Add(time.Minute))
	userID, err := s.RedeemSocketTicket(t.Context(), ticketHash, at)
	if err != nil {
		t.Fatalf("RedeemSocketTicket: %v", err)
	}
	if got, want := userID, int64(7); got != want {
		t.Errorf("user %d, want %d", got, want)
	}
	_, err = s.RedeemSocketTicket(t.Context(), ticketHash, at)
	wantCode(t, "redeeming it again", err, claudebridge.EAUTH)
}

func ofTenRedeemingOneTicketAtOnceOneSucceeds(t *testing.T, s Store) {
	at := socketClock()
	addTicket(t, s, ticketHash, 7, at.Add(time.Minute))
	start := make(chan struct{})
	errs := make([]error, 10)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			<-start
			_, errs[i] = s.RedeemSocketTicket(t.Context(), ticketHash, at)
		})
	}
	close(start)
	wg.Wait()
	redeemed := 0
	for _, err := range errs {
		if err == nil {
			redeemed++
			continue
		}
		wantCode(t, "a redeemer that lost", err, claudebridge.EAUTH)
	}
	if got, want := redeemed, 1; got != want {
		t.Errorf("%d redeemed it, want %d", got, want)
	}
}

func aTicketIsRefusedFromItsExpiryOn(t *testing.T, s Store) {
	expires := socketClock()
	addTicket(t, s, ticketHash, 7, expires)
	_, err := s.RedeemSocketTicket(t.Context(), ticketHash, expires)
	wantCode(t, "redeeming at its expiry", err, claudebridge.EAUTH)
	_, err = s.RedeemSocketTicket(t.Context(), ticketHash, expires.Add(time.Minute))
	wantCode(t, "redeeming after its expiry", err, claudebridge.EAUTH)
}

func anUnknownTicketIsRefused(t *testing.T, s Store) {
	at := socketClock()
	addTicket(t, s, ticketHash, 7, at.Add(time.Minute))
	_, err := s.RedeemSocketTicket(t.Context(), "unknown-"+ticketHash, at)
	wantCode(t, "redeeming an unknown ticket", err, claudebridge.EAUTH)
}

func addConnection(t *testing.T, s Store, c claudebridge.SocketConnection) {
	t.Helper()
	if err := s.AddSocketConnection(t.Context(), c); err != nil {
		t.Fatalf("AddSocketConnection %s: %v", c.ID, err)
	}
}

func connection(t *testing.T, s Store, id string, at time.Time) *claudebridge.SocketConnection {
	t.Helper()
	c, err := s.SocketConnection(t.Context(), id, at)
	if err != nil {
		t.Fatalf("SocketConnection %s: %v", id, err)
	}
	return c
}

func aConnectionReadsBackAsAdded(t *testing.T, s Store) {
	at := socketClock()
	addConnection(t, s, claudebridge.SocketConnection{ID: "Xyz1=", UserID: 7, At: at, Expires: at.Add(2 * time.Hour)})
	addConnection(t, s, claudebridge.SocketConnection{ID: "Xyz2=", UserID: 8, At: at, Expires: at.Add(2 * time.Hour)})
	c := connection(t, s, "Xyz1=", at.Add(time.Minute))
	if got, want := c.ID, "Xyz1="; got != want {
		t.Errorf("ID %q, want %q", got, want)
	}
	if got, want := c.UserID, int64(7); got != want {
		t.Errorf("UserID %d, want %d", got, want)
	}
	if got, want := c.At, at; !got.Equal(want) {
		t.Errorf("At %v, want %v", got, want)
	}
	if got, want := c.Expires, at.Add(2*time.Hour); !got.Equal(want) {
		t.Errorf("Expires %v, want %v", got, want)
	}
}

func aConnectionAddedAgainIsReplaced(t *testing.T, s Store) {
	at := socketClock()
	addConnection(t, s, claudebridge.SocketConnection{ID: "Xyz1=", UserID: 7, At: at, Expires: at.Add(time.Hour)})
	addConnection(t, s, claudebridge.SocketConnection{ID: "Xyz1=", UserID: 8, At: at.Add(time.Minute), Expires: at.Add(2 * time.Hour)})
	c := connection(t, s, "Xyz1=", at.Add(90*time.Minute))
	if got, want := c.UserID, int64(8); got != want {
		t.Errorf("UserID %d, want %d", got, want)
	}
	if got, want := c.At, at.Add(time.Minute); !got.Equal(want) {
		t.Errorf("At %v, want %v", got, want)
	}
}

func aConnectionIsNotFoundFromItsExpiryOn(t *testing.T, s Store) {
	at := socketClock()
	addConnection(t, s, claudebridge.SocketConnection{ID: "Xyz1=", UserID: 7, At: at, Expires: at.Add(time.Hour)})
	connection(t, s, "Xyz1=", at.Add(time.Hour-time.Second))
	_, err := s.SocketConnection(t.Context(), "Xyz1=", at.Add(time.Hour))
	wantCode(t, "reading it at its expiry", err, claudebridge.ENOTFOUND)
}

func aRemovedConnectionIsNotFound(t *testing.T, s Store) {
	at := socketClock()
	addConnection(t, s, claudebridge.SocketConnection{ID: "Xyz1=", UserID: 7, At: at, Expires: at.Add(time.Hour)})
	addConnection(t, s, claudebridge.SocketConnection{ID: "Xyz2=", UserID: 7, At: at, Expires: at.Add(time.Hour)})
	if err := s.RemoveSocketConnection(t.Context(), "Xyz1="); err != nil {
		t.Fatalf("RemoveSocketConnection: %v", err)
	}
	_, err := s.SocketConnection(t.Context(), "Xyz1=", at)
	wantCode(t, "reading a removed connection", err, claudebridge.ENOTFOUND)
	connection(t, s, "Xyz2=", at)
}

func removingAnAbsentConnectionIsNotAnError(t *testing.T, s Store) {
	if err := s.RemoveSocketConnection(t.Context(), "Absent="); err != nil {
		t.Errorf("RemoveSocketConnection of an absent one: %v", err)
	}
}

func addTurnRequest(t *testing.T, s Store, r claudebridge.TurnRequest) {
	t.Helper()
	if err := s.AddTurnRequest(t.Context(), r); err != nil {
		t.Fatalf("AddTurnRequest %s/%s: %v", r.TurnID, r.ID, err)
	}
}

func turnRequests(t *testing.T, s Store, turnID string, at time.Time) []claudebridge.TurnRequest {
	t.Helper()
	list, err := s.TurnRequests(t.Context(), turnID, at)
	if err != nil {
		t.Fatalf("TurnRequests %s: %v", turnID, err)
	}
	return list
}

// requestIDs returns the IDs of requests, in order.
func requestIDs(list []claudebridge.TurnRequest) []string {
	out := []string{}
	for _, r := range list {
		out = append(out, r.ID)
	}
	return out
}

func aTurnRequestReadsBackAsAdded(t *testing.T, s Store) {
	at := socketClock()
	addTurnRequest(t, s, claudebridge.TurnRequest{TurnID: "turn_1", ID: "r1", Kind: claudebridge.TurnFollow, UserID: 7,
		ConnectionID: "Xyz1=", AfterSeq: 12, At: at, Expires: at.Add(time.Hour)})
	list := turnRequests(t, s, "turn_1", at)
	if len(list) != 1 {
		t.Fatalf("%d requests, want 1", len(list))
	}
	r := list[0]
	if got, want := r.TurnID, "turn_1"; got != want {
		t.Errorf("TurnID %q, want %q", got, want)
	}
	if got, want := r.ID, "r1"; got != want {
		t.Errorf("ID %q, want %q", got, want)
	}
	if got, want := r.Kind, claudebridge.TurnFollow; got != want {
		t.Errorf("Kind %q, want %q", got, want)
	}
	if got, want := r.UserID, int64(7); got != want {
		t.Errorf("UserID %d, want %d", got, want)
	}
	if got, want := r.ConnectionID, "Xyz1="; got != want {
		t.Errorf("ConnectionID %q, want %q", got, want)
	}
	if got, want := r.AfterSeq, 12; got != want {
		t.Errorf("AfterSeq %d, want %d", got, want)
	}
	if got, want := r.At, at; !got.Equal(want) {
		t.Errorf("At %v, want %v", got, want)
	}
	if got, want := r.Expires, at.Add(time.Hour); !got.Equal(want) {
		t.Errorf("Expires %v, want %v", got, want)
	}
}

func turnRequestsComeOldestFirstThenByID(t *testing.T, s Store) {
	at := socketClock()
	for _, r := range []claudebridge.TurnRequest{
		{ID: "c", At: at.Add(2 * time.Second)},
		{ID: "b", At: at.Add(time.Second)},
		{ID: "a", At: at.Add(2 * time.Second)},
		{ID: "d", At: at},
	} {
		r.TurnID, r.Kind, r.UserID, r.Expires = "turn_1", claudebridge.TurnStop, 7, at.Add(time.Hour)
		addTurnRequest(t, s, r)
	}
	if got, want := requestIDs(turnRequests(t, s, "turn_1", at)), []string{"d", "b", "a", "c"}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}

func aTurnRequestAddedAgainIsReplaced(t *testing.T, s Store) {
	at := socketClock()
	addTurnRequest(t, s, claudebridge.TurnRequest{TurnID: "turn_1", ID: "r1", Kind: claudebridge.TurnFollow, UserID: 7,
		ConnectionID: "Xyz1=", AfterSeq: 3, At: at, Expires: at.Add(time.Hour)})
	addTurnRequest(t, s, claudebridge.TurnRequest{TurnID: "turn_1", ID: "r1", Kind: claudebridge.TurnFollow, UserID: 7,
		ConnectionID: "Xyz2=", AfterSeq: 9, At: at.Add(time.Second), Expires: at.Add(time.Hour)})
	list := turnRequests(t, s, "turn_1", at)
	if len(list) != 1 {
		t.Fatalf("%d requests, want 1", len(list))
	}
	if got, want := list[0].ConnectionID, "Xyz2="; got != want {
		t.Errorf("ConnectionID %q, want %q", got, want)
	}
	if got, want := list[0].AfterSeq, 9; got != want {
		t.Errorf("AfterSeq %d, want %d", got, want)
	}
}

func aTurnRequestIsLeftOutFromItsExpiryOn(t *testing.T, s Store) {
	at := socketClock()
	addTurnRequest(t, s, claudebridge.TurnRequest{TurnID: "turn_1", ID: "short", Kind: claudebridge.TurnStop, UserID: 7,
		At: at, Expires: at.Add(time.Minute)})
	addTurnRequest(t, s, claudebridge.TurnRequest{TurnID: "turn_1", ID: "long", Kind: claudebridge.TurnStop, UserID: 7,
		At: at, Expires: at.Add(time.Hour)})
	if got, want := requestIDs(turnRequests(t, s, "turn_1", at)), []string{"long", "short"}; !slices.Equal(got, want) {
		t.Errorf("before either expired: %q, want %q", got, want)
	}
	if got, want := requestIDs(turnRequests(t, s, "turn_1", at.Add(time.Minute))), []string{"long"}; !slices.Equal(got, want) {
		t.Errorf("at the first's expiry: %q, want %q", got, want)
	}
}

func anotherTurnsRequestsAreLeftOut(t *testing.T, s Store) {
	at := socketClock()
	addTurnRequest(t, s, claudebridge.TurnRequest{TurnID: "turn_1", ID: "r1", Kind: claudebridge.TurnStop, UserID: 7,
		At: at, Expires: at.Add(time.Hour)})
	addTurnRequest(t, s, claudebridge.TurnRequest{TurnID: "turn_2", ID: "r2", Kind: claudebridge.TurnStop, UserID: 7,
		At: at, Expires: at.Add(time.Hour)})
	if got, want := requestIDs(turnRequests(t, s, "turn_2", at)), []string{"r2"}; !slices.Equal(got, want) {
		t.Errorf("turn_2's requests %q, want %q", got, want)
	}
	if got, want := requestIDs(turnRequests(t, s, "turn_3", at)), []string{}; !slices.Equal(got, want) {
		t.Errorf("a turn without requests has %q, want %q", got, want)
	}
}

func aTurnRequestNeedsItsTurnAndItsID(t *testing.T, s Store) {
	at := socketClock()
	err := s.AddTurnRequest(t.Context(), claudebridge.TurnRequest{ID: "r1", Kind: claudebridge.TurnStop, At: at, Expires: at.Add(time.Hour)})
	wantCode(t, "a request without its turn", err, claudebridge.EINVALID)
	err = s.AddTurnRequest(t.Context(), claudebridge.TurnRequest{TurnID: "turn_1", Kind: claudebridge.TurnStop, At: at, Expires: at.Add(time.Hour)})
	wantCode(t, "a request without its id", err, claudebridge.EINVALID)
}
