package converse

// The small Converse JSON shapes this package decodes or encodes with
// encoding/json. Requests are read and written by the one-walk translators
// (see jsonReader); these are the parts small enough not to matter.

type citationsConfig struct {
	Enabled bool `json:"enabled"`
}

type cachePoint struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

type specificTool struct {
	Name string `json:"name"`
}

type outputConfig struct {
	Effort     *string       `json:"effort,omitempty"`
	TextFormat *outputFormat `json:"textFormat,omitempty"`
}

type outputFormat struct {
	Type      string          `json:"type"`
	Structure formatStructure `json:"structure"`
}

type formatStructure struct {
	JSONSchema jsonSchemaDefinition `json:"jsonSchema"`
}

type jsonSchemaDefinition struct {
	// Schema is the JSON schema as a string, as Converse wants it.
	Schema      string  `json:"schema"`
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
}

type serviceTier struct {
	Type string `json:"type"`
}
