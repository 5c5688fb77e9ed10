package config

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

const envExampleIntro = `# gemgate: example .env / 示例 .env 文件
# Generated from internal/config/settings.go; run UPDATE_DOCS=1 go test ./internal/config to refresh.
#
# Copy it to .env in gemgate's working folder and edit it. Every setting is listed with its default; a
# secret is left empty. A variable set in the real environment wins over .env. On the first start every
# setting that is not env-only is stored in the database, and from then on the stored value wins: change
# those in the admin panel. The env-only settings (database connection, listen address) are commented out:
# their defaults apply, and so do the values a container image sets (gemgate's image keeps SQLite in
# /data/gemgate.db); remove the "# " to change one. Values are single-quoted where needed; gemgate also
# accepts them with the quotes that docker run --env-file leaves in. Full reference: docs/settings.md
#
# 复制为 gemgate 工作目录下的 .env 后修改。这里列出了每个配置项及其默认值，密钥类配置留空。真实环境变量
# 优先于 .env。首次启动时，所有非"仅环境变量"的配置项都会存入数据库，此后以数据库中的值为准：请在管理后台
# 修改这些配置。"仅环境变量"的配置项（数据库连接、监听地址）已注释掉：使用其默认值，容器镜像设置的值也照常
# 生效（gemgate 镜像把 SQLite 放在 /data/gemgate.db）；要修改时删去行首的 "# "。需要时值用单引号括起；
# docker run --env-file 会保留这些引号，gemgate 同样能正确读取。完整说明见 docs/settings.md
`

// WriteEnvExample renders .env.example from the settings table: every setting with its default (secrets
// empty) under a one-line description in English and Chinese.
func WriteEnvExample(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(envExampleIntro)
	for _, g := range Groups {
		first := true
		for _, d := range registry {
			if d.Group != g {
				continue
			}
			if first {
				t := g.Title()
				fmt.Fprintf(bw, "\n# ===== %s / %s =====\n", t.EN, t.ZH)
				first = false
			}
			// An env-only line left active would override what an image or platform sets (docker run
			// --env-file .env would move the database out of the image's /data volume).
			off := ""
			if d.Bootstrap {
				off = "# "
			}
			fmt.Fprintf(bw, "\n# %s%s / %s\n%s%s=%s\n", envTags(d), oneLine(d.Help.EN), oneLine(d.Help.ZH), off, d.Name, envValue(d))
		}
	}
	return bw.Flush()
}

func envTags(d *Def) string {
	var tags []string
	if d.Bootstrap {
		tags = append(tags, "env only / 仅环境变量")
	}
	if d.Secret {
		tags = append(tags, "secret / 密钥")
	}
	if len(tags) == 0 {
		return ""
	}
	return "[" + strings.Join(tags, ", ") + "] "
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// envValue is the default as .env must spell it. Secrets stay empty: an example must not suggest a
// value. Anything beyond plain characters is single-quoted, where godotenv neither expands $ nor reads #
// as a comment.
func envValue(d *Def) string {
	if d.Secret {
		return ""
	}
	v := d.DefaultText()
	plain := strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._/:,@+-", r))
	}) < 0
	if plain {
		return v
	}
	return "'" + v + "'"
}
