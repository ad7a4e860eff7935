// Package chat is the chat service of claudebridge: the REST API of
// conversations, prompts and usage under /api/, the WebSocket /api/ws on
// which answers stream (or the same frames over a gateway's WebSocket, API
// Gateway's on Lambda: ConnectSocket, SocketMessage, RunSocketJob), the turns that write those answers (apart from any
// socket), and the login that scopes all of it to a user. The page itself
// is another package's handler (Options.Page).
package chat

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/cost"
)

// Defaults are the sampling settings of every turn (ANTHROPIC_MODEL_ID,
// MAX_TOKENS, TEMPERATURE, TOP_K).
type Defaults struct {
	// Model is the model of new conversations; "" means the first model
	// Options.Models lists.
	Model string
	// MaxTokens is max_tokens; 0 means 4096.
	MaxTokens int
	// Temperature is sent as it is (0.3 in the migration guide; 0 is a
	// valid temperature). Negative means not sent.
	Temperature float64
	// TopK is top_k; 0 or less means not sent.
	TopK int
}

// Options configure a Server.
type Options struct {
	Upstream      claudebridge.Upstream // the same upstream as the gateway, retries included
	Conversations claudebridge.ConversationService
	Prompts       claudebridge.PromptService
	Usage         claudebridge.UsageService
	Users         claudebridge.UserService
	// Provider names the upstream for the page: "bedrock", "anthropic" or
	// "emulator" (AI_PROVIDER as resolved), so that it can say when its
	// answers come from the built-in emulator. "" says nothing.
	Provider string
	// Prices price the turns (at Provider's prices); nil: the built-in
	// table. When Usage is also a claudebridge.LedgerService, each turn is
	// a ledger entry of its own, with the prices' version, its latency and
	// status; else it is added with AddUsage.
	Prices *cost.Table
	// Models lists the models offered in the page; nil means Upstream.Models.
	Models   func(ctx context.Context) ([]claudebridge.Model, error)
	Defaults Defaults
	// Local serves every request as the user "local", without login: for
	// a store without users on a loopback address. The caller decides.
	Local bool
	// TrustedUserHeader names a header set by an authenticating proxy in
	// front (TRUSTED_USER_HEADER): its value is the user, created on first
	// sight. Requests without it fall back to the session cookie.
	TrustedUserHeader string
	// TrustedProxies are the peers whose TrustedUserHeader is believed,
	// and whose X-Forwarded-For names a login's client (TRUSTED_PROXIES).
	// None: the header is never believed.
	TrustedProxies []netip.Prefix
	// AllowedOrigins are origins, besides the page's own, from which the
	// WebSocket may be opened and login posted (CHAT_ALLOW_ORIGINS). "*"
	// is not honoured.
	AllowedOrigins []string
	// Secret keys the CSRF tokens; nil means random at start, so that the
	// page must fetch /api/me again after a restart.
	Secret []byte
	// TurnsPerUser is how many answers one user may have being written at
	// once, across conversations; default 4.
	TurnsPerUser int
	// SaveInterval is how often a streaming answer is saved; default 1s.
	SaveInterval time.Duration
	// PingInterval is how often a socket is pinged: proxies and load
	// balancers drop WebSockets that carry nothing for a minute or so, and
	// a model may think longer than that. Default 25 s.
	PingInterval time.Duration
	// PingTimeout is how long a ping may go unanswered before the client
	// is taken for gone. Default: PingInterval.
	PingTimeout time.Duration
	// ReplayFor is how long a finished turn's deltas stay in memory for
	// resume; default 5 minutes.
	ReplayFor time.Duration
	// Leases, when set, let several processes share the store's chat
	// (TURN_LEASE): this process claims the messages its turns write and
	// renews a lease every Lease/3; every Lease/3 it also marks
	// interrupted the streaming messages of processes whose lease lapsed.
	// Nil: one process alone on its store, whose caller marks what a
	// crash left streaming at start-up (InterruptLapsed with no grace).
	Leases claudebridge.TurnLeaseService
	// Lease is how long a lease lasts unrenewed; default 10 s.
	Lease time.Duration
	// Owner names this process in the store; default random.
	Owner string
	// Bus carries turns between the processes sharing the store: a page
	// whose socket lands on another process than its turn's shows, stops
	// and resumes it through the bus. Nil: a MemoryBus of this server's
	// own (one process).
	Bus claudebridge.TurnBus
	// Sockets keeps what the sockets of a gateway (API Gateway's WebSocket
	// API on Lambda) share between invocations: tickets, connections, and
	// the requests pages make of running turns. Nil: no such sockets.
	Sockets claudebridge.SocketService
	// SocketURL is the gateway's WebSocket URL (CHAT_SOCKET_URL), told to
	// the page by /api/config; with it, the page opens its socket there
	// with a ticket from POST /api/socket-ticket. "": the page uses /api/ws.
	SocketURL string
	// Logger; nil discards.
	Logger *slog.Logger
	// Page serves everything outside /api/ (the page at "/", its assets);
	// nil serves a placeholder.
	Page http.Handler
}

// Server is the chat service, an http.Handler for "/" and everything below
// it (the caller mounts the gateway's own paths first). Close it to end its
// turns.
type Server struct {
	opts  Options
	log   *slog.Logger
	api   http.Handler
	page  http.Handler
	turns *turns

	secret       []byte
	users        sync.Map    // name → *claudebridge.User, for local and trusted-header users
	logins       *loginLimit // wrong passwords by name
	loginsByAddr *loginLimit // wrong passwords by client address
	// passwordChecks holds a token per bcrypt comparison under way.
	passwordChecks chan struct{}

	modelsMu      sync.Mutex
	models        []claudebridge.Model
	modelsFetched time.Time

	// sockets ends the open WebSockets at Close, after the turns.
	sockets      context.Context
	closeSockets context.CancelFunc

	bus          claudebridge.TurnBus
	publisher    *publisher
	saver        *saver
	owner        string        // Options.Owner
	leaseStop    chan struct{} // closed by Close to stop keepLease; nil without Leases
	leaseStopped chan struct{}
}

// New returns a Server with opts.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Defaults.MaxTokens <= 0 {
		opts.Defaults.MaxTokens = 4096
	}
	if opts.Prices == nil {
		opts.Prices = cost.Builtin()
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 25 * time.Second
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = opts.PingInterval
	}
	if opts.TurnsPerUser <= 0 {
		opts.TurnsPerUser = 4
	}
	if opts.SaveInterval <= 0 {
		opts.SaveInterval = time.Second
	}
	if opts.ReplayFor <= 0 {
		opts.ReplayFor = 5 * time.Minute
	}
	if opts.Models == nil {
		opts.Models = opts.Upstream.Models
	}
	if opts.Lease <= 0 {
		opts.Lease = 10 * time.Second
	}
	if opts.Owner == "" {
		opts.Owner = newOwnerID()
	}
	s := &Server{opts: opts, log: opts.Logger, page: opts.Page, secret: opts.Secret,
		logins: newLoginLimit(5, 15*time.Minute), loginsByAddr: newLoginLimit(20, 15*time.Minute),
		passwordChecks: make(chan struct{}, max(2, runtime.NumCPU()))}
	if s.secret == nil {
		s.secret = make([]byte, 32)
		rand.Read(s.secret)
	}
	if s.page == nil {
		s.page = http.HandlerFunc(placeholder)
	}
	s.sockets, s.closeSockets = context.WithCancel(context.Background())
	s.turns = newTurns(s)
	s.api = s.routes()
	s.owner, s.bus = opts.Owner, opts.Bus
	if s.bus == nil {
		s.bus = NewMemoryBus()
	}
	s.publisher = &publisher{s: s}
	s.saver = &saver{s: s}
	if opts.Leases != nil {
		s.leaseStop, s.leaseStopped = make(chan struct{}), make(chan struct{})
		go s.keepLease(s.leaseStop, s.leaseStopped)
	}
	return s
}

// ServeHTTP serves /api/ and hands everything else to the page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
		s.api.ServeHTTP(w, r)
		return
	}
	s.page.ServeHTTP(w, r)
}

// Answering returns how many answers are being written now.
func (s *Server) Answering() int { return s.turns.running() }

// Drain refuses new answers (a send gets overloaded_error) and waits until
// those being written have ended by themselves, or ctx ends; Close then
// ends the rest. The sockets stay open meanwhile, so that pages see the
// answers to their end.
func (s *Server) Drain(ctx context.Context) error { return s.turns.drain(ctx) }

// Close ends every running turn (each is stored with status interrupted),
// waits for them to be stored, then closes the open WebSockets. ctx bounds
// the wait.
func (s *Server) Close(ctx context.Context) error {
	err := s.turns.close(ctx)
	// Followers elsewhere get the ends now, before the bus is closed.
	s.publisher.flush()
	// A turn still running keeps the lease, to be swept once it lapses.
	s.stopLease(ctx, err == nil)
	s.closeSockets()
	return err
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/login", s.login)
	mux.HandleFunc("POST /api/logout", s.authed(s.logout))
	mux.HandleFunc("GET /api/me", s.authed(s.me))
	mux.HandleFunc("GET /api/config", s.authed(s.config))
	mux.HandleFunc("GET /api/ws", s.socket)
	mux.HandleFunc("POST /api/socket-ticket", s.authed(s.socketTicket))

	mux.HandleFunc("GET /api/conversations", s.authed(s.listConversations))
	mux.HandleFunc("POST /api/conversations", s.authed(s.createConversation))
	mux.HandleFunc("GET /api/conversations/{id}", s.authed(s.getConversation))
	mux.HandleFunc("PATCH /api/conversations/{id}", s.authed(s.updateConversation))
	mux.HandleFunc("DELETE /api/conversations/{id}", s.authed(s.deleteConversation))
	mux.HandleFunc("GET /api/conversations/{id}/export", s.authed(s.exportConversation))
	mux.HandleFunc("GET /api/export", s.authed(s.exportAll))
	mux.HandleFunc("POST /api/import", s.authed(s.importConversations))

	mux.HandleFunc("GET /api/prompts", s.authed(s.listPrompts))
	mux.HandleFunc("POST /api/prompts", s.authed(s.createPrompt))
	mux.HandleFunc("GET /api/prompts/{id}", s.authed(s.getPrompt))
	mux.HandleFunc("PUT /api/prompts/{id}", s.authed(s.updatePrompt))
	mux.HandleFunc("DELETE /api/prompts/{id}", s.authed(s.deletePrompt))

	mux.HandleFunc("GET /api/usage", s.authed(s.usage))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, claudebridge.Errorf(claudebridge.ENOTFOUND, "No such API: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// modelList returns the models to offer, cached for five minutes.
func (s *Server) modelList(ctx context.Context) ([]claudebridge.Model, error) {
	s.modelsMu.Lock()
	defer s.modelsMu.Unlock()
	if s.models != nil && time.Since(s.modelsFetched) < 5*time.Minute {
		return s.models, nil
	}
	list, err := s.opts.Models(ctx)
	if err != nil {
		if s.models != nil {
			return s.models, nil
		}
		return nil, err
	}
	s.models, s.modelsFetched = list, time.Now()
	return list, nil
}

// defaultModel is Defaults.Model, else the first model listed.
func (s *Server) defaultModel(ctx context.Context) (string, error) {
	if s.opts.Defaults.Model != "" {
		return s.opts.Defaults.Model, nil
	}
	list, err := s.modelList(ctx)
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "", claudebridge.Errorf(claudebridge.EINTERNAL, "The upstream lists no models; set ANTHROPIC_MODEL_ID")
	}
	return list[0].ID, nil
}

func placeholder(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("claudebridge chat: the page is not built into this binary; the API is under /api/.\n"))
}
