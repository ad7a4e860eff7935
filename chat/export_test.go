package chat

import (
	"context"
	"time"
)

// OnCloseBegun has f called once Close has begun on s: from then on a turn
// that is launched ends at once. Set it before Close.
func OnCloseBegun(s *Server, f func()) { s.turns.closeBegun = f }

// Sweep marks interrupted, as s's periodic sweep does, the answers whose
// process's lease ended by at.
func Sweep(s *Server, at time.Time) error { return s.sweep(context.Background(), at) }
