package main

import (
	"net"
	"strings"
	"testing"
)

func TestEveryCommandHasHelpOnStdout(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--help"}, "claudebridge serve"},
		{[]string{"serve", "--help"}, "Usage: claudebridge serve"},
		{[]string{"serve", "-h"}, "Usage: claudebridge serve"},
		{[]string{"emulate", "--help"}, "claudebridge emulate bedrock"},
		{[]string{"emulate", "bedrock", "--help"}, "Usage: claudebridge emulate bedrock"},
		{[]string{"emulate", "anthropic", "--help"}, "Usage: claudebridge emulate anthropic"},
		{[]string{"users", "--help"}, "claudebridge users add NAME"},
		{[]string{"users", "add", "--help"}, "claudebridge users add NAME"},
	} {
		var out, errOut strings.Builder
		err := run(t.Context(), c.args, &out, &errOut)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
		}
		got, want := strings.Contains(out.String(), c.says), true
		if got != want {
			t.Errorf("%v printed %q on stdout, want %q in it", c.args, out.String(), c.says)
		}
		if got, want := errOut.String(), ""; got != want {
			t.Errorf("%v printed %q on stderr, want nothing", c.args, got)
		}
	}
}

func TestAnUnknownFlagGetsTheUsageOnStderr(t *testing.T) {
	var out, errOut strings.Builder
	err := run(t.Context(), []string{"serve", "--no-such-flag"}, &out, &errOut)
	if got, want := err != nil, true; got != want {
		t.Fatal("an unknown flag was accepted")
	}
	if got, want := strings.Contains(err.Error(), "no-such-flag"), true; got != want {
		t.Errorf("error %q does not name the flag", err)
	}
	if got, want := strings.Contains(errOut.String(), "Usage: claudebridge serve"), true; got != want {
		t.Errorf("stderr %q has no usage", errOut.String())
	}
	if got, want := out.String(), ""; got != want {
		t.Errorf("stdout %q, want nothing", got)
	}
}

func TestTheEmulatorsHaveDifferentDefaultAddresses(t *testing.T) {
	for _, which := range []string{"bedrock", "anthropic"} {
		var out strings.Builder
		if err := run(t.Context(), []string{"emulate", which, "--help"}, &out, &out); err != nil {
			t.Fatal(err)
		}
		addr := map[string]string{"bedrock": bedrockEmulatorAddr, "anthropic": anthropicEmulatorAddr}[which]
		if got, want := strings.Contains(out.String(), `(default "`+addr+`")`), true; got != want {
			t.Errorf("emulate %s --help does not give %s as the default address:\n%s", which, addr, out.String())
		}
	}
	if bedrockEmulatorAddr == anthropicEmulatorAddr || bedrockEmulatorAddr == "127.0.0.1:8080" || anthropicEmulatorAddr == "127.0.0.1:8080" {
		t.Errorf("default addresses collide: bedrock %s, anthropic %s, serve 127.0.0.1:8080", bedrockEmulatorAddr, anthropicEmulatorAddr)
	}
}

func TestAnAddressInUseSuggestsListen(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	ln, err := listenTCP(held.Addr().String(), "--listen HOST:PORT")
	if err == nil {
		ln.Close()
		t.Fatal("listening on an address in use succeeded")
	}
	got, want := err.Error(), held.Addr().String()+" is already in use, by another claudebridge or another program: choose another address with --listen HOST:PORT"
	if got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}
