package gemini

import "strings"

// SearchSources formats a grounded answer's web sources as a Markdown list of links.
func SearchSources(gm *GroundingMetadata) string {
	if gm == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range gm.GroundingChunks {
		if c.Web == nil || c.Web.URI == "" {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("\n\n---\n\n**【引用来源】**\n\n")
		}
		title := c.Web.Title
		if title == "" {
			title = c.Web.URI
		}
		b.WriteString("- [")
		b.WriteString(strings.NewReplacer("[", "\\[", "]", "\\]").Replace(title))
		b.WriteString("](")
		b.WriteString(c.Web.URI)
		b.WriteString(")\n")
	}
	return b.String()
}
