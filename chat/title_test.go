package chat

import "testing"

func TestTitlesAreMadeWithoutMarkdownMarks(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"# How do I *really* use `go test`?", "How do I really use go test?"},
		{"## Heading ##\nmore", "Heading"},
		{"**Bold** and __strong__ and ~~gone~~", "Bold and strong and gone"},
		{"See [the docs](https://example.com/x) and ![img](a.png)", "See the docs and img"},
		{"> quoted\n", "quoted"},
		{"- a list item", "a list item"},
		{"1. first step", "first step"},
		{"```go\nfunc main() {}\n```", "func main() {}"},
		{"\n\n   \nsecond line", "second line"},
		{"rename snake_case_name and 2*3", "rename snake_case_name and 2*3"},
		{"```\n```", "New chat"},
		{"", "New chat"},
	} {
		if got := titleOf(c.text); got != c.want {
			t.Errorf("titleOf(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestLongTitlesAreCutAtAWord(t *testing.T) {
	got := titleOf("**word** " + "abcdefghi abcdefghi abcdefghi abcdefghi abcdefghi abcdefghi abcdefghi")
	want := "word abcdefghi abcdefghi abcdefghi abcdefghi abcdefghi…"
	if got != want {
		t.Errorf("titleOf = %q, want %q", got, want)
	}
}
