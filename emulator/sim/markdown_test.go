package sim

import (
	"encoding/json"
	"strings"
	"testing"
)

func answerText(t *testing.T, body string) string {
	t.Helper()
	r, err := Answer(sonnet, fieldsOf(t, body))
	if err != nil {
		t.Fatal(err)
	}
	var msg struct{ Content []struct{ Text string } }
	if err := json.Unmarshal(r.Message(), &msg); err != nil {
		t.Fatal(err)
	}
	return msg.Content[0].Text
}

// A default answer is Markdown, so that a chat shows rendering: a heading,
// bold, a list, inline code and a fenced code block, after the quote of the
// question.
func TestADefaultAnswerIsMarkdown(t *testing.T) {
	text := answerText(t, `{"max_tokens":1000,"messages":[{"role":"user","content":"What is Go?"}]}`)
	if !strings.HasPrefix(text, `You asked: "What is Go?".`) {
		t.Errorf("the answer does not start with the question: %q", text)
	}
	for _, want := range []string{"\n## ", "**", "\n- ", " `make check` ", "\n```sh\n", "\n```"} {
		if !strings.Contains(text, want) {
			t.Errorf("the answer has no %q:\n%s", want, text)
		}
	}
}

// The same question gets the same answer; [[words=N]] still gives exactly
// N words of plain text.
func TestMarkdownAnswersAreDeterministicAndWordsStayPlain(t *testing.T) {
	const body = `{"max_tokens":1000,"messages":[{"role":"user","content":"Same question"}]}`
	if got, want := answerText(t, body), answerText(t, body); got != want {
		t.Errorf("two answers to one question:\n%s\n%s", got, want)
	}
	text := answerText(t, `{"max_tokens":1000,"messages":[{"role":"user","content":"Count [[words=12]]"}]}`)
	if got, want := len(strings.Fields(text)), 12; got != want {
		t.Errorf("%d words, want %d: %q", got, want, text)
	}
	if strings.Contains(text, "##") {
		t.Errorf("a [[words=N]] answer has Markdown: %q", text)
	}
}
