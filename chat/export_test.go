package chat

// OnCloseBegun has f called once Close has begun on s: from then on a turn
// that is launched ends at once. Set it before Close.
func OnCloseBegun(s *Server, f func()) { s.turns.closeBegun = f }
