package config

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

var groupTitles = map[Group]Text{
	GroupServer:    {"Server", "服务器"},
	GroupDatabase:  {"Database", "数据库"},
	GroupAPI:       {"API", "API 配置"},
	GroupModels:    {"Models", "模型配置"},
	GroupTTS:       {"Text to speech", "TTS 配置"},
	GroupImage:     {"Image generation", "图像生成"},
	GroupStream:    {"Streaming", "流式输出"},
	GroupScheduler: {"Scheduled jobs", "定时任务"},
	GroupLogging:   {"Logging", "日志配置"},
	GroupFiles:     {"Files API", "文件 API"},
	GroupAdmin:     {"Admin panel", "管理后台"},
}

// Title is the group's heading in the admin editor and in docs/settings.md; the Chinese titles are
// those of the reference's tabs where it had one.
func (g Group) Title() Text {
	if t, ok := groupTitles[g]; ok {
		return t
	}
	return Text{EN: string(g), ZH: string(g)}
}

const docsIntro = `# gemgate settings / 配置项

<!-- Generated from internal/config/settings.go; run UPDATE_DOCS=1 go test ./internal/config -run TestSettingsDocUpToDate to refresh. -->

Every setting keeps the name it had in Gemini Balance, so an existing ` + "`.env`" + ` or database keeps working.

**Where values come from.** gemgate reads the process environment and a ` + "`.env`" + ` file in the working
folder; a variable set in the environment wins over the same name in ` + "`.env`" + `. On the first start every
setting that is not env-only is written to the database table ` + "`t_settings`" + `. From then on the stored
value wins over env: editing ` + "`.env`" + ` later has no effect on such a setting. Change it in the admin panel,
or revert it there to its env value (or default when env does not set it). Env-only settings (the database
connection, ` + "`HOST`" + `, ` + "`PORT`" + `) are never stored and are always read from env.

**Formats.** Lists accept a JSON array (` + "`[\"a\",\"b\"]`" + `) or comma-separated values (` + "`a,b`" + `); maps are
JSON objects (` + "`{\"k\":\"v\"}`" + `). Booleans accept ` + "`true/false`" + `, ` + "`1/0`" + `, ` + "`yes/no`" + `, ` + "`on/off`" + `. An empty
number, boolean, choice, URL or model name means its default. An invalid env value stops the start with a message naming
the setting.

**取值来源。** gemgate 读取进程环境变量和工作目录下的 ` + "`.env`" + ` 文件；同名时环境变量优先于 ` + "`.env`" + `。
首次启动时，所有非"仅环境变量"的配置项都会写入数据库表 ` + "`t_settings`" + `。此后以数据库中的值为准：之后再修改
` + "`.env`" + ` 对这些配置项不起作用。请在管理后台修改，或在后台将其恢复为环境变量的值（环境变量未设置时恢复为默认值）。
仅环境变量的配置项（数据库连接、` + "`HOST`" + `、` + "`PORT`" + `）从不存入数据库，始终从环境变量读取。

**格式。** 列表可写成 JSON 数组（` + "`[\"a\",\"b\"]`" + `）或逗号分隔（` + "`a,b`" + `）；映射为 JSON 对象
（` + "`{\"k\":\"v\"}`" + `）。布尔值可写 ` + "`true/false`" + `、` + "`1/0`" + `、` + "`yes/no`" + `、` + "`on/off`" + `。数字、布尔值、选项、地址或模型名
留空表示使用默认值。环境变量的值无效时，启动会中止并提示出错的配置项名称。
`

// WriteMarkdown renders the settings reference (docs/settings.md) from the table.
func WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(docsIntro)
	for _, g := range Groups {
		var defs []*Def
		for _, d := range registry {
			if d.Group == g {
				defs = append(defs, d)
			}
		}
		if len(defs) == 0 {
			continue
		}
		t := g.Title()
		fmt.Fprintf(bw, "\n## %s / %s\n\n", t.EN, t.ZH)
		bw.WriteString("| Name | Type | Default | Env only | Secret | Description (EN) | 说明 (ZH) |\n")
		bw.WriteString("|---|---|---|---|---|---|---|\n")
		for _, d := range defs {
			cells := []string{
				code(d.Name), typeText(d), defaultText(d), yes(d.Bootstrap), yes(d.Secret), prose(d.Help.EN), prose(d.Help.ZH),
			}
			for i, c := range cells {
				cells[i] = cell(c)
			}
			fmt.Fprintf(bw, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	return bw.Flush()
}

func typeText(d *Def) string {
	s := d.Kind.String()
	switch {
	case len(d.Options) > 0:
		opts := make([]string, len(d.Options))
		for i, o := range d.Options {
			opts[i] = code(o)
		}
		s += ", one of " + strings.Join(opts, ", ")
	case d.Min != nil && d.Max != nil:
		s += ", " + num(*d.Min) + "–" + num(*d.Max)
	case d.Min != nil:
		s += ", ≥ " + num(*d.Min)
	case d.Max != nil:
		s += ", ≤ " + num(*d.Max)
	}
	return s
}

func defaultText(d *Def) string {
	t := d.DefaultText()
	if t == "" {
		return "(empty)"
	}
	return code(t)
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

// code wraps s in a code span, with a longer fence when s itself holds backticks (CommonMark).
func code(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// prose keeps placeholders such as <model>-image visible: Markdown would take them for HTML tags.
func prose(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// cell makes s safe inside a GitHub table row: a pipe would end the cell (even inside a code span) and
// a newline would end the row.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", "<br>")
	s = strings.ReplaceAll(s, "\n", "<br>")
	return s
}
