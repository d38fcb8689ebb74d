package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// On a terminal, init lists the tables and asks which to serve and which
// are live; a bad answer is asked again; the file has exactly the choice.
// The terminal is a real pseudo-terminal.
func TestInitPromptsOnATerminal(t *testing.T) {
	_, roleURL, _ := demoAs(t)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skip("no pseudo-terminal:", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	var screen syncBuffer
	go func() { _, _ = io.Copy(&screen, ptmx) }() // ends when ptmx closes

	cfgPath := filepath.Join(t.TempDir(), "walrelay.yaml")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- initConfig(ctx, []string{"--database-url", roleURL, "--out", cfgPath}, tty, tty) }()

	// seen is how much of the screen has been read: each wait looks only
	// at what came after, so a repeated question is a new prompt.
	seen := 0
	expect := func(text string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			if i := strings.Index(screen.String()[seen:], text); i >= 0 {
				seen += i + len(text)
				return
			}
			select {
			case err := <-done:
				t.Fatalf("init exited waiting for %q: %v\n%s", text, err, screen.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q within 60s:\n%s", text, screen.String())
			}
			time.Sleep(10 * time.Millisecond) // polling the terminal with a deadline
		}
	}
	answer := func(prompt, line string) {
		t.Helper()
		expect(prompt)
		expect("]: ")
		if _, err := ptmx.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	expect("public.room_members")
	expect("(cannot be a model")
	answer("Models to serve over REST", "7") // not in the list
	expect(`"7" is not a number from the list`)
	answer("Models to serve over REST", "1,2,4") // messages, notifications, users
	answer("Realtime models", "3")               // rooms: not chosen
	expect("is not among the models chosen")
	answer("Realtime models", "1")
	expect("with 3 models, 1 realtime? [Y/n] ")
	if _, err := ptmx.Write([]byte("y\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("init: %v\n%s", err, screen.String())
		}
	case <-ctx.Done():
		t.Fatalf("init did not finish:\n%s", screen.String())
	}
	text, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	got := string(text)
	for want, ok := range map[string]bool{
		"  Message:\n": true, "  Notification:\n": true, "  User:\n": true, "  Room:\n": false,
		"# public.rooms is not exposed: not chosen.": true,
		"live: Message:list":                         true, "live: Notification:list": false,
	} {
		if strings.Contains(got, want) != ok {
			t.Errorf("walrelay.yaml has %q: %v, want %v:\n%s", want, !ok, ok, got)
		}
	}
}

// init never overwrites a file without --force, and off a terminal it
// needs --yes rather than waiting for answers nobody gives.
func TestInitNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	cfgPath := filepath.Join(t.TempDir(), "walrelay.yaml")
	if err := os.WriteFile(cfgPath, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := initConfig(ctx, []string{"--database-url", "postgres://nowhere.invalid/db", "--out", cfgPath, "--yes"}, strings.NewReader(""), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "exists; pass --force") {
		t.Errorf("init over an existing file: %v", err)
	}
	err = initConfig(ctx, []string{"--database-url", "postgres://nowhere.invalid/db", "--out", cfgPath + ".new"}, strings.NewReader("1\n"), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not a terminal: pass --yes") {
		t.Errorf("init off a terminal without --yes: %v", err)
	}
	if b, _ := os.ReadFile(cfgPath); string(b) != "keep me\n" {
		t.Fatalf("the file changed: %q", b)
	}
	_, roleURL, _ := demoAs(t)
	var out strings.Builder
	if err := initConfig(ctx, []string{"--database-url", roleURL, "--out", cfgPath, "--yes", "--force", "--models", "messages,users", "--realtime", "none"}, strings.NewReader(""), &out); err != nil {
		t.Fatalf("init --force: %v", err)
	}
	b, _ := os.ReadFile(cfgPath)
	if !strings.Contains(string(b), "  Message:\n") || strings.Contains(string(b), "subscribe:") || strings.Contains(string(b), "  Room:\n") {
		t.Errorf("init --force --models messages,users --realtime none wrote:\n%s", b)
	}
	if strings.Contains(out.String(), "replication") {
		t.Errorf("REST only, yet init asks for replication:\n%s", out.String())
	}
	err = initConfig(ctx, []string{"--database-url", roleURL, "--out", cfgPath + ".2", "--yes", "--realtime", "room_members"}, strings.NewReader(""), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "primary key has 2 columns") {
		t.Errorf("--realtime room_members: %v", err)
	}
}
