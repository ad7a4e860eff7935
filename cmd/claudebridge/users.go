package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/claudebridge/claudebridge"
	"github.com/claudebridge/claudebridge/chat"
	"github.com/claudebridge/claudebridge/internal/redact"
)

const usersUsage = `Usage:
  claudebridge users add NAME   create a chat user; the password is read from stdin
                                (prompted for, without echo, on a terminal)
  claudebridge users passwd NAME
                                set a user's password (read as for add) and end
                                the user's sessions
  claudebridge users remove NAME
                                remove a user, the user's sessions, conversations,
                                prompts and usage
  claudebridge users list       list the chat users

The database is DATABASE_URL's (default: claudebridge.db in the user's data directory).
`

// users manages the chat's users in the database serve uses.
func users(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usersUsage) }
	if helped, err := parseFlags(fs, args, stdout, stderr); helped || err != nil {
		return err
	}
	args = fs.Args()
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return fmt.Errorf("users: no command given")
	}
	// "users add --help" asks for help; it does not name a user "--help".
	for _, a := range args[1:] {
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Fprint(stdout, usersUsage)
			return nil
		}
	}
	path, err := databasePath(os.Getenv)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	switch {
	case args[0] == "add" && len(args) == 2:
		name := strings.TrimSpace(args[1])
		hash, err := readPasswordHash()
		if err != nil {
			return err
		}
		if _, err := db.CreateUser(ctx, name, hash); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "user %s added to %s\n", name, redact.URL(path))
		return nil
	case args[0] == "passwd" && len(args) == 2:
		name := strings.TrimSpace(args[1])
		hash, err := readPasswordHash()
		if err != nil {
			return err
		}
		if err := db.SetPassword(ctx, name, hash); err != nil {
			return userError(err, name)
		}
		fmt.Fprintf(stderr, "password of %s set in %s; the user's sessions are ended\n", name, redact.URL(path))
		return nil
	case args[0] == "remove" && len(args) == 2:
		name := strings.TrimSpace(args[1])
		if err := db.DeleteUser(ctx, name); err != nil {
			return userError(err, name)
		}
		fmt.Fprintf(stderr, "user %s removed from %s\n", name, redact.URL(path))
		return nil
	case args[0] == "list" && len(args) == 1:
		list, err := db.Users(ctx)
		if err != nil {
			return err
		}
		for _, u := range list {
			fmt.Fprintf(stdout, "%s\t%s\n", u.Name, u.CreatedAt.Format("2006-01-02 15:04"))
		}
		return nil
	}
	fmt.Fprint(stderr, usersUsage)
	return fmt.Errorf("users: bad arguments %q", args)
}

// readPasswordHash reads a password as readPassword does and hashes it.
func readPasswordHash() (string, error) {
	password, err := readPassword()
	if err != nil {
		return "", err
	}
	return chat.HashPassword(password)
}

// userError says which user was not found.
func userError(err error, name string) error {
	if claudebridge.ErrorCode(err) == claudebridge.ENOTFOUND {
		return fmt.Errorf("users: no user %q", name)
	}
	return err
}

// readPassword reads the password: twice without echo on a terminal, else
// the first line of stdin. At least 8 characters.
func readPassword() (string, error) {
	var password string
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		fmt.Fprint(os.Stderr, "Password: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(os.Stderr, "Again: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", err
		}
		if string(again) != string(b) {
			return "", errors.New("the passwords differ")
		}
		password = string(b)
	} else {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", errors.New("no password on stdin")
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if len(password) < 8 {
		return "", errors.New("the password must have at least 8 characters")
	}
	return password, nil
}
