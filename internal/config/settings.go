package config

// The settings table. Every setting of the reference (Gemini Balance) is here under its own name, with
// gemgate's additions. Code reads a setting only through these handles, so a name is spelled once.
// The order inside a group is the order of the admin form and of docs/settings.md; the groups follow
// the tabs of the reference's config editor so that its users find everything where they expect it.

// required marks a string that is useless when empty (a URL, a model name): an empty input then means
// the default rather than a broken value.
func required() Option { return func(d *Def) { d.NonEmpty = true } }

// The image hosts UPLOAD_PROVIDER names.
const (
	ProviderLocal            = "local"
	ProviderSMMS             = "smms"
	ProviderPicGo            = "picgo"
	ProviderCloudflareImgbed = "cloudflare_imgbed"
	ProviderAliyunOSS        = "aliyun_oss"
)

// GeminiVoices are the prebuilt voices of Gemini's speech models.
var GeminiVoices = []string{
	"Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede", "Callirrhoe", "Autonoe", "Enceladus",
	"Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib", "Rasalgethi", "Laomedeia", "Achernar",
	"Alnilam", "Schedar", "Gacrux", "Pulcherrima", "Achird", "Zubenelgenubi", "Vindemiatrix", "Sadachbia",
	"Sadaltager", "Sulafat",
}

// HarmCategories and HarmThresholds are the values Gemini accepts in safetySettings.
var (
	HarmCategories = []string{"HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT",
		"HARM_CATEGORY_DANGEROUS_CONTENT", "HARM_CATEGORY_CIVIC_INTEGRITY"}
	HarmThresholds = []string{"OFF", "BLOCK_NONE", "BLOCK_ONLY_HIGH", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_LOW_AND_ABOVE",
		"HARM_BLOCK_THRESHOLD_UNSPECIFIED"}
)

// Server and database: bootstrap settings, read from env only (except PUBLIC_URL).
var (
	Host = define("HOST", "0.0.0.0", GroupServer,
		"Address to listen on, e.g. 0.0.0.0 for all interfaces or 127.0.0.1 for local access only.",
		"监听地址，例如 0.0.0.0 表示所有网卡，127.0.0.1 表示仅本机访问。", Bootstrap())
	Port = define("PORT", 8000, GroupServer,
		"TCP port to listen on.", "监听的 TCP 端口。", Bootstrap(), Range(1, 65535))
	PublicURL = define("PUBLIC_URL", "", GroupServer,
		"Externally visible base URL of gemgate, e.g. https://gemini.example.com, used in links to locally hosted images and in Files API upload URLs. Empty means derived from each request's Host header; set it behind a reverse proxy. (gemgate only.)",
		"gemgate 对外访问的基础地址，例如 https://gemini.example.com，用于本地图片链接和 Files API 上传地址。留空则从每个请求的 Host 头推断；在反向代理之后建议设置。（gemgate 新增）")
	MemoryLimitMB = define("MEMORY_LIMIT_MB", 0, GroupServer,
		"Soft limit, in MiB, on the memory the Go runtime manages (heap and stacks; not the program mapped from disk, about 20 MB, nor SQLite's page caches). Near it the garbage collector runs more often instead of letting the heap grow to twice what is live; it never takes more than about half the CPU for it, so a busier gateway goes past the limit rather than failing. It trades CPU for memory: with 100,000 keys under load, 64 kept resident memory near 100 MB (from about 135) at about 25 µs more CPU per request. 0 (the default): no limit. GOMEMLIMIT in the environment, when set, wins. (gemgate only.)",
		"Go 运行时所管理内存（堆和栈；不含从磁盘映射的程序本身约 20 MB，也不含 SQLite 的页缓存）的软上限，单位 MiB。接近上限时垃圾回收更频繁，而不是让堆增长到存活数据的两倍；回收最多占用约一半 CPU，因此负载更高时会超过上限而不会失败。这是以 CPU 换内存：100,000 个密钥在负载下设为 64 时常驻内存约 100 MB（原约 135 MB），每个请求多用约 25 µs CPU。0（默认）表示不限制。环境变量 GOMEMLIMIT 已设置时以其为准。（gemgate 新增）",
		Range(0, 1<<20))
	TrustedProxies = define("TRUSTED_PROXIES", []string{}, GroupServer,
		`Reverse proxies (IPs or CIDR ranges) whose X-Forwarded-For is believed, for the login throttle and the per-source refusal counts. Empty (the default) believes no one: the connecting address counts. Same-host nginx or Caddy: ["127.0.0.1","::1"]. Hugging Face Spaces and Render: ["10.0.0.0/8"]. Docker: only the address or compose network of a reverse-proxy container that every request passes through; never 172.16.0.0/12 for a port published straight to the internet, where every client looks private and could write its own X-Forwarded-For. (gemgate only.)`,
		`受信任的反向代理（IP 或 CIDR 网段），只有它们写的 X-Forwarded-For 才会被采信，用于登录限速和按来源统计的拒绝次数。留空（默认）表示不信任任何代理，按连接地址计算。同机 nginx 或 Caddy：["127.0.0.1","::1"]。Hugging Face Spaces 和 Render：["10.0.0.0/8"]。Docker：只填所有请求都必经的反向代理容器的地址或其 compose 网段；端口直接映射到公网时切勿填 172.16.0.0/12，否则所有客户端看起来都是内网地址，且能自己伪造 X-Forwarded-For。（gemgate 新增）`,
		Checked(checkPrefixes))
	// Bounds on what one client may hold (issue 15): docs/security.md, "Bounds on every read".
	ClientHeaderTimeout = define("CLIENT_HEADER_TIMEOUT", 10, GroupServer,
		"Seconds a client may take to send its request headers; a client that trickles them is disconnected. Read at start. (gemgate only.)",
		"客户端发送请求头的最长秒数；逐字节拖延发送请求头的客户端会被断开。启动时读取。（gemgate 新增）",
		Range(1, 300))
	ClientMaxHeaderKB = define("CLIENT_MAX_HEADER_KB", 64, GroupServer,
		"Largest request header block accepted, in KiB (request line, cookies and every header together); larger requests get 431. Read at start. (gemgate only.)",
		"允许的最大请求头（KiB，包括请求行、Cookie 和所有请求头）；超过返回 431。启动时读取。（gemgate 新增）",
		Range(4, 1024))
	ClientBodyTimeout = define("CLIENT_BODY_TIMEOUT", 20, GroupServer,
		"Request bodies must keep arriving at CLIENT_BODY_MIN_RATE: every this many seconds spent waiting for the body must bring at least CLIENT_BODY_MIN_RATE × this many bytes (or the rest of the body), else the connection is cut. A minimum rate, not a total time: a large Files upload on a slow line still works. (gemgate only.)",
		"请求体必须以不低于 CLIENT_BODY_MIN_RATE 的速度到达：每等待此秒数，至少要收到 CLIENT_BODY_MIN_RATE × 此秒数 字节（或请求体剩余部分），否则断开连接。这是最低速率而非总时长：慢速网络上传大文件（Files API）仍可完成。（gemgate 新增）",
		Range(1, 3600))
	ClientBodyMinRate = define("CLIENT_BODY_MIN_RATE", 1024, GroupServer,
		"Slowest accepted request body, in bytes per second, averaged over CLIENT_BODY_TIMEOUT; 0 only requires some bytes in each CLIENT_BODY_TIMEOUT. (gemgate only.)",
		"可接受的最慢请求体速度（字节/秒，按 CLIENT_BODY_TIMEOUT 取平均）；0 表示只要求每个 CLIENT_BODY_TIMEOUT 内有数据到达。（gemgate 新增）",
		Range(0, 1<<30))
	ClientMaxConnsPerIP = define("CLIENT_MAX_CONNECTIONS_PER_IP", 256, GroupServer,
		"Open connections one client address may hold (IPv6: one /64); a connection over it gets 429 and is closed. 0: no cap. The connecting address counts, not X-Forwarded-For; the proxies in TRUSTED_PROXIES are not capped (their connections carry many clients: limit clients in the proxy, e.g. nginx limit_conn). Behind a proxy you do not list there, raise it or set 0. (gemgate only.)",
		"单个客户端地址（IPv6 按 /64 计）可同时保持的连接数；超出的连接收到 429 并被关闭。0 表示不限制。按连接地址而非 X-Forwarded-For 计算；TRUSTED_PROXIES 中的代理不受此限制（其连接承载众多客户端：请在代理中限制客户端，例如 nginx 的 limit_conn）。在未列入其中的代理之后，请调大或设为 0。（gemgate 新增）",
		Range(0, 1000000))
	DatabaseType = define("DATABASE_TYPE", "sqlite", GroupDatabase,
		"Database engine: sqlite (embedded, default; Gemini Balance defaulted to mysql), mysql (also MariaDB) or postgres.",
		"数据库类型：sqlite（内置，默认；Gemini Balance 默认为 mysql）、mysql（含 MariaDB）或 postgres。",
		Bootstrap(), OneOf("sqlite", "mysql", "postgres"))
	SQLiteDatabase = define("SQLITE_DATABASE", "data/gemgate.db", GroupDatabase,
		"SQLite database file. A bare file name (as Gemini Balance used, e.g. default_db) is placed under data/; the folder is created.",
		"SQLite 数据库文件。只写文件名时（如 Gemini Balance 的 default_db）放在 data/ 目录下；目录会自动创建。",
		Bootstrap())
	MySQLHost = define("MYSQL_HOST", "", GroupDatabase,
		"MySQL/MariaDB host name or IP address.", "MySQL/MariaDB 主机名或 IP 地址。", Bootstrap())
	MySQLPort = define("MYSQL_PORT", 3306, GroupDatabase,
		"MySQL/MariaDB port.", "MySQL/MariaDB 端口。", Bootstrap(), Range(1, 65535))
	MySQLUser = define("MYSQL_USER", "", GroupDatabase,
		"MySQL/MariaDB user.", "MySQL/MariaDB 用户名。", Bootstrap())
	MySQLPassword = define("MYSQL_PASSWORD", "", GroupDatabase,
		"MySQL/MariaDB password.", "MySQL/MariaDB 密码。", Bootstrap(), Secret())
	MySQLDatabase = define("MYSQL_DATABASE", "", GroupDatabase,
		"MySQL/MariaDB database name.", "MySQL/MariaDB 数据库名。", Bootstrap())
	MySQLSocket = define("MYSQL_SOCKET", "", GroupDatabase,
		"Unix socket path, e.g. /run/mysqld/mysqld.sock; when set it is used instead of host and port.",
		"Unix 套接字路径，例如 /run/mysqld/mysqld.sock；设置后代替主机和端口。", Bootstrap())
	PostgresDSN = define("POSTGRES_DSN", "", GroupDatabase,
		"PostgreSQL connection string (postgres://user:pass@host:5432/db?sslmode=disable).",
		"PostgreSQL 连接串（postgres://user:pass@host:5432/db?sslmode=disable）。", Bootstrap(), Secret())
	RedisURL = define("REDIS_URL", "", GroupDatabase,
		"Redis for running several gemgate instances together (redis://[:password@]host:6379/0): key cooldowns, disabled keys and saved settings reach every instance within a second. Empty = one instance alone.",
		"多实例共享状态用的 Redis（redis://[:password@]host:6379/0）：密钥冷却、禁用和保存的配置会在一秒内同步到所有实例。留空表示单实例运行。",
		Bootstrap(), Secret())
	RedisPrefix = define("REDIS_PREFIX", "gemgate", GroupDatabase,
		"Prefix of gemgate's Redis channels, so that separate deployments can share one Redis server.",
		"gemgate 使用的 Redis 频道前缀，便于多个独立部署共用一个 Redis。", Bootstrap())
	DatabaseURL = define("DATABASE_URL", "", GroupDatabase,
		"Alternative to POSTGRES_DSN, as set by hosting platforms such as Render.",
		"POSTGRES_DSN 的替代名，Render 等平台会自动设置。", Bootstrap(), Secret())
	DBConnectTimeout = define("DB_CONNECT_TIMEOUT", 30, GroupDatabase,
		"Seconds gemgate keeps retrying, with growing pauses, to reach a database that does not answer at start (a database container still starting); 0 tries once. (gemgate only.)",
		"启动时数据库无响应（例如数据库容器仍在启动）时，gemgate 以逐渐变长的间隔重试连接的总秒数；0 表示只尝试一次。（gemgate 新增）",
		Bootstrap(), Range(0, 3600))
	GeminiBalanceTimezone = define("GEMINI_BALANCE_TIMEZONE", "Asia/Shanghai", GroupDatabase,
		"IANA time zone the Gemini Balance database was written in (its image set TZ=Asia/Shanghai; its times carry no zone): adopting or importing it converts its log times from this zone. (gemgate only.)",
		"Gemini Balance 数据库写入时所用的 IANA 时区（其镜像设置了 TZ=Asia/Shanghai，写入的时间不带时区）：接管或导入时按此时区转换其日志时间。（gemgate 新增）",
		Bootstrap(), required(), Checked(checkZone))
	EnvOverrides = define("ENV_OVERRIDES", []string{}, GroupDatabase,
		"Settings whose environment value wins over the value stored in the database at every start, comma separated, e.g. AUTH_TOKEN or AUTH_TOKEN,API_KEYS: the way to recover or change them on hosts without a shell (Hugging Face, Render). Stored values otherwise win over env, as in Gemini Balance. Each override is logged at start; remove the entry afterwards so panel changes last. (gemgate only.)",
		"在每次启动时以环境变量值覆盖数据库中已保存值的配置项，逗号分隔，例如 AUTH_TOKEN 或 AUTH_TOKEN,API_KEYS：在没有命令行的平台（Hugging Face、Render）上找回或修改这些配置的方法。否则已保存的值优先于环境变量（与 Gemini Balance 相同）。每次覆盖都会在启动日志中记录；用完后请删除该项，以免后台的修改在重启后被覆盖。（gemgate 新增）",
		Bootstrap(), Checked(checkOverrides))
	EncryptionKey = define("ENCRYPTION_KEY", "", GroupDatabase,
		"Encrypts the API keys, tokens and other secrets stored in the database (AES-256-GCM): 32 random bytes as 64 hex digits or base64 (e.g. openssl rand -base64 32), or a passphrase of at least 16 characters. Empty stores them in plain text. Keep it safe: without it the stored secrets cannot be read. Existing values are encrypted at the next start, or with gemgate encrypt-existing; see docs/security.md. (gemgate only.)",
		"加密数据库中保存的 API 密钥、令牌等敏感信息（AES-256-GCM）：32 个随机字节，写成 64 位十六进制或 base64（例如 openssl rand -base64 32），或至少 16 个字符的口令。留空则以明文保存。请妥善保管：丢失后已保存的密钥将无法读取。已有数据会在下次启动时或通过 gemgate encrypt-existing 加密；详见 docs/security.md。（gemgate 新增）",
		Bootstrap(), Secret(), Checked(checkEncryptionKey))
)

// API, keys and upstream (tab API配置).
var (
	APIKeys = define("API_KEYS", []string{}, GroupAPI,
		`Gemini API keys to rotate over, e.g. ["AIzaSy...1","AIzaSy...2"] or AIzaSy...1,AIzaSy...2.`,
		`轮询使用的 Gemini API 密钥，例如 ["AIzaSy...1","AIzaSy...2"] 或 AIzaSy...1,AIzaSy...2。`, Secret(), Widget("keys"))
	AllowedTokens = define("ALLOWED_TOKENS", []string{}, GroupAPI,
		"Tokens clients use to call gemgate: the API key a client SDK is configured with.",
		"客户端调用 gemgate 时使用的令牌，即在客户端 SDK 中填写的 API 密钥。", Secret(), Widget("tokens"))
	AuthToken = define("AUTH_TOKEN", "", GroupAPI,
		"Admin token for the web panel (also accepted as a client token). Generated when unset on first start, and printed at every start until someone logs in with it (Gemini Balance used the first ALLOWED_TOKENS entry instead; an adopted Gemini Balance database whose AUTH_TOKEN is empty keeps that rule, with a warning).",
		"管理后台令牌（也可作为客户端令牌）。首次启动未设置时会自动生成，并在有人用它登录之前每次启动都打印到控制台（Gemini Balance 则使用 ALLOWED_TOKENS 的第一个值；接管的 Gemini Balance 数据库中 AUTH_TOKEN 为空时沿用该规则，并给出警告）。", Secret(), Widget("token"))
	BaseURL = define("BASE_URL", "https://generativelanguage.googleapis.com/v1beta", GroupAPI,
		"Gemini REST base URL; point it at a relay (e.g. https://my-relay.example.com/v1beta) to hide this server's IP.",
		"Gemini 接口地址；可指向自建中转（如 https://my-relay.example.com/v1beta）以隐藏服务器 IP。", required())
	CustomHeaders = define("CUSTOM_HEADERS", map[string]string{}, GroupAPI,
		`Extra headers added to every upstream call, as a JSON object, e.g. {"X-Relay-Token":"abc"}.`,
		`添加到每个上游请求的额外请求头，JSON 对象格式，例如 {"X-Relay-Token":"abc"}。`, Secret(), Widget("map"))
	VertexAPIKeys = define("VERTEX_API_KEYS", []string{}, GroupAPI,
		"Vertex AI Express API keys, used by the /vertex-express routes (JSON array or comma separated).",
		"Vertex AI Express 密钥，供 /vertex-express 路由使用（JSON 数组或逗号分隔）。", Secret(), Widget("secret-list"))
	VertexExpressBaseURL = define("VERTEX_EXPRESS_BASE_URL", "https://aiplatform.googleapis.com/v1beta1/publishers/google", GroupAPI,
		"Vertex AI Express REST base URL.", "Vertex AI Express 接口地址。", required())
	URLNormalizationEnabled = define("URL_NORMALIZATION_ENABLED", false, GroupAPI,
		"Rewrite unusual request paths (e.g. a missing /v1 or a doubled prefix) to the matching gemgate route, for clients that build URLs oddly.",
		"将不规范的请求路径（如缺少 /v1 或前缀重复）改写为对应的 gemgate 路由，适用于拼接地址不规范的客户端。")
	MaxFailures = define("MAX_FAILURES", 3, GroupAPI,
		"Consecutive failures after which a key stops being used until it is checked again.",
		"密钥连续失败达到此次数后停止使用，直到再次检测通过。", AtLeast(1))
	TimeOut = define("TIME_OUT", 300, GroupAPI,
		"Upstream timeout in seconds: for a whole non-streamed call, and for the wait for each streamed event.",
		"上游超时（秒）：非流式为整次调用，流式为等待每个事件的时间。", Range(1, 3600))
	KeyBlameSharePercent = define("KEY_BLAME_SHARE_PERCENT", 5, GroupAPI,
		"Last line of defence against a hostile client: the share of keys (percent, at least one key when above 0) that the requests of one client token may disable or charge within KEY_BLAME_WINDOW_MINUTES on Google's word alone. Past it, every further charge needs a key check (a call with no client data) that fails, and the panel and the log name the token and its requests. 0: every charge needs a failing check. (gemgate only.)",
		"防御恶意客户端的最后一道防线：单个客户端令牌的请求在 KEY_BLAME_WINDOW_MINUTES 内仅凭 Google 的回答即可禁用或计失败的密钥比例（百分比；大于 0 时至少一个密钥）。超过后，每次计失败都必须先用不含客户数据的检测调用确认失败，并在面板和日志中指出该令牌及其请求。0 表示每次计失败都需检测确认。（gemgate 新增）",
		Range(0, 100))
	KeyBlameWindowMinutes = define("KEY_BLAME_WINDOW_MINUTES", 10, GroupAPI,
		"Window, in minutes, over which KEY_BLAME_SHARE_PERCENT counts the keys charged because of one client token's requests. (gemgate only.)",
		"KEY_BLAME_SHARE_PERCENT 统计单个客户端令牌导致计失败的密钥数所用的时间窗口（分钟）。（gemgate 新增）",
		Range(1, 1440))
	MaxRetries = define("MAX_RETRIES", 3, GroupAPI,
		"Retries on other keys after a failed attempt; 0 means exactly one attempt (Gemini Balance counted the first attempt too).",
		"失败后换密钥重试的次数；0 表示只尝试一次（Gemini Balance 的计数包含首次尝试）。", Range(0, 100))
	Proxies = define("PROXIES", []string{}, GroupAPI,
		"Outbound proxies, e.g. socks5://user:pass@1.2.3.4:1080 (http://, https:// or socks5://); empty means direct connections.",
		"出站代理，例如 socks5://user:pass@1.2.3.4:1080（支持 http://、https://、socks5://）；留空则直连。", Secret(), Widget("proxies"))
	ProxiesConsistentHash = define("PROXIES_USE_CONSISTENCY_HASH_BY_API_KEY", true, GroupAPI,
		"Pin each key to one proxy (stable across restarts); a dead proxy fails over to the next one. Off: a random proxy per call.",
		"按密钥固定使用同一代理（重启后不变）；代理不可用时自动换下一个。关闭则每次随机选择代理。")
	MaxRequestBodyMB = define("MAX_REQUEST_BODY_MB", 50, GroupAPI,
		"Largest request body accepted, in MiB; larger requests get 413. (gemgate only.)",
		"允许的最大请求体（MiB）；超过返回 413。（gemgate 新增）", Range(1, 1024))
	// Hedging (issue 20): a second key for the slow tail, bounded so that a slow upstream cannot
	// double the load.
	HedgeAfterMS = define("HEDGE_AFTER_MS", 0, GroupAPI,
		"Hedging against Google's slow tail: when a generate, count-tokens or embed call (or a stream before its first byte) has no answer after this many milliseconds, or an empty one, the same call is also sent on a second key chosen as usual; the first good answer is returned and the other call is cancelled, charged to no key and counted as no failure (the request log shows it as a hedge_lost attempt). Calls that must use the key holding a file or cache they name are never hedged. Set it near the p95 latency of your calls, e.g. 8000 for long generations; 0 (the default) turns hedging off. (gemgate only.)",
		"对冲 Google 的慢尾延迟：生成、计数或嵌入调用（或尚未收到首字节的流）在此毫秒数内没有回答，或回答为空时，再用按常规规则选出的第二个密钥发送同一调用；返回先到的有效回答，另一个调用被取消，不计入任何密钥、不算失败（请求日志中显示为 hedge_lost 尝试）。必须使用持有其引用文件或缓存的密钥的调用永不对冲。建议设为调用延迟的 p95 左右，例如长文本生成设 8000；0（默认）表示关闭。（gemgate 新增）",
		Range(0, 3600000))
	HedgeMaxPercent = define("HEDGE_MAX_PERCENT", 10, GroupAPI,
		"Most calls that may be hedged, as a percentage of calls: each call earns this share of a hedge and each hedge spends one, so that when Google is slow on every call, hedging adds at most this share of upstream calls instead of doubling them. The share is earned per client token (a reserve of this many hedges, the share of 100 of its calls) and within the whole process (a reserve of ten times as many): a token whose every call is slow spends its own share, not the others'. (gemgate only.)",
		"可被对冲的调用最多占全部调用的百分比：每个调用积累此比例的对冲额度，每次对冲消耗一次；因此即使 Google 对每个调用都很慢，对冲最多只增加此比例的上游调用，而不会使其翻倍。额度按客户端令牌分别积累（最多储备此数量的对冲，即该令牌 100 次调用中的份额），整个进程另有总额度（储备为其十倍）：每个调用都很慢的令牌只会用完自己的份额，不会占用其他令牌的。（gemgate 新增）",
		Range(1, 100))
)

// Models and request features (tab 模型配置).
var (
	TestModel = define("TEST_MODEL", "gemini-2.5-flash-lite", GroupModels,
		"Model used to verify keys; a cheap, fast model keeps checks inexpensive.",
		"验证密钥时使用的模型；选用便宜快速的模型可降低检测成本。", required(), Widget("model"))
	ImageModels = define("IMAGE_MODELS", []string{"gemini-2.0-flash-exp", "gemini-2.5-flash-image-preview"}, GroupModels,
		"Models that also get a <model>-image variant, which asks for text and image output.",
		"为这些模型额外提供 <模型>-image 变体，请求同时输出文字和图片。", Widget("models"))
	SearchModels = define("SEARCH_MODELS", []string{"gemini-2.5-flash", "gemini-2.5-pro"}, GroupModels,
		"Models that also get a <model>-search variant with Google Search grounding.",
		"为这些模型额外提供 <模型>-search 变体，启用 Google 搜索。", Widget("models"))
	FilteredModels = define("FILTERED_MODELS", []string{
		"gemini-1.0-pro-vision-latest", "gemini-pro-vision", "chat-bison-001", "text-bison-001", "embedding-gecko-001",
	}, GroupModels,
		"Models hidden from the model lists and refused in requests.",
		"从模型列表中隐藏并拒绝请求的模型。", Widget("models"))
	ToolsCodeExecutionEnabled = define("TOOLS_CODE_EXECUTION_ENABLED", false, GroupModels,
		"Add Gemini's code-execution tool to chat requests automatically, on every API (native Gemini, OpenAI, Responses, Anthropic), after the client's own tools; skipped where it cannot work (function declarations or calls, JSON output, media input, a cached context, -search, -image and -non-thinking models).",
		"在所有接口（原生 Gemini、OpenAI、Responses、Anthropic）的对话请求中自动添加 Gemini 代码执行工具，附加在客户端自带的工具之后；在无法使用的场合跳过（函数声明或函数调用、JSON 输出、媒体输入、缓存上下文、-search、-image 及 -non-thinking 模型）。")
	URLContextEnabled = define("URL_CONTEXT_ENABLED", false, GroupModels,
		"Add the URL-context tool (the model reads links in the prompt) for the models in URL_CONTEXT_MODELS, on every API (native Gemini too), after the client's own tools; skipped next to function declarations, JSON output and a cached context.",
		"为 URL_CONTEXT_MODELS 中的模型添加网址上下文工具（模型会读取提示词中的链接），适用于所有接口（含原生 Gemini），附加在客户端自带的工具之后；有函数声明、JSON 输出或缓存上下文时跳过。")
	URLContextModels = define("URL_CONTEXT_MODELS", []string{
		"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.0-flash", "gemini-2.0-flash-live-001",
	}, GroupModels,
		"Models that get the URL-context tool when URL_CONTEXT_ENABLED is on.",
		"开启 URL_CONTEXT_ENABLED 时添加网址上下文工具的模型。", Widget("models"))
	ShowSearchLink = define("SHOW_SEARCH_LINK", true, GroupModels,
		"Append the Google Search sources as Markdown links to the answers of -search models, on every API: OpenAI and Anthropic at the end of the text, native Gemini as one more text part (streamed or not).",
		"在 -search 模型的回答末尾附上 Google 搜索来源链接（Markdown 格式），适用于所有接口：OpenAI 和 Anthropic 附在正文末尾，原生 Gemini 作为额外的文本部分（流式与非流式均适用）。")
	ShowThinkingProcess = define("SHOW_THINKING_PROCESS", true, GroupModels,
		"Ask thinking models for their thoughts and return them (OpenAI format: reasoning_content; Gemini format: parts marked thought, as includeThoughts is added to thinkingConfig unless the client set it or turned thinking off; Anthropic clients choose with their own thinking parameter).",
		"请求并返回思考模型的思考过程（OpenAI 格式为 reasoning_content；Gemini 格式为标记 thought 的部分：除非客户端自己设置了 includeThoughts 或关闭了思考，否则会在 thinkingConfig 中添加 includeThoughts；Anthropic 客户端由其自身的 thinking 参数决定）。")
	ThinkingModels = define("THINKING_MODELS", []string{}, GroupModels,
		"Models that also get a <model>-non-thinking variant, which turns thinking off (the smallest budget where it cannot be off).",
		"为这些模型额外提供 <模型>-non-thinking 变体，关闭思考（无法关闭的模型使用最小预算）。", Widget("models"))
	ThinkingBudgetMap = define("THINKING_BUDGET_MAP", map[string]float64{}, GroupModels,
		`Thinking budget in tokens per model, as a JSON object, e.g. {"gemini-2.5-flash": 1024}; -1 lets the model decide, 0 turns thinking off where allowed.`,
		`按模型设置的思考预算（token 数），JSON 对象格式，例如 {"gemini-2.5-flash": 1024}；-1 表示由模型自行决定，0 表示关闭思考（模型允许时）。`, Widget("model-map"))
	ModelAliases = define("MODEL_ALIASES", map[string]string{}, GroupModels,
		`Your own model names, as a JSON object from the name clients use to a real (or derived) Gemini model, e.g. {"gpt-4o": "gemini-2.5-pro", "fast": "gemini-2.5-flash-lite"}. Aliases are listed by /v1/models.`,
		`自定义模型名，JSON 对象，把客户端使用的名字映射到真实（或派生）的 Gemini 模型，例如 {"gpt-4o": "gemini-2.5-pro", "fast": "gemini-2.5-flash-lite"}。别名会出现在 /v1/models 列表中。`, Widget("map"))
	AnthropicModelMap = define("ANTHROPIC_MODEL_MAP", map[string]string{
		"opus": "gemini-2.5-pro", "sonnet": "gemini-2.5-flash", "haiku": "gemini-2.5-flash-lite",
	}, GroupModels,
		`Gemini models for the Claude model names that Anthropic clients (Claude Code, Cline...) send to /v1/messages, as a JSON object from a part of the name to a Gemini model (or alias): "claude-sonnet-4-5-20250929" contains "sonnet", so it is served by the model of "sonnet"; the longest matching part wins. Names that are already Gemini models or MODEL_ALIASES are used as they are.`,
		`Anthropic 客户端（Claude Code、Cline 等）请求 /v1/messages 时所用 Claude 模型名对应的 Gemini 模型：JSON 对象，键为模型名中的片段，值为 Gemini 模型（或别名）。例如 "claude-sonnet-4-5-20250929" 含有 "sonnet"，便由 "sonnet" 对应的模型处理；匹配多个时取最长的片段。本身已是 Gemini 模型或 MODEL_ALIASES 别名的名字按原样使用。`)
	ModelKeyTags = define("MODEL_KEY_TAGS", map[string]string{}, GroupModels,
		`Which keys may serve which models, as a JSON object from a model name or glob to comma separated key tags, e.g. {"gemini-2.5-pro*": "paid", "*flash*": "free,paid"}. Tag keys in the key list (tags, weight, project). Models that match nothing use every key.`,
		`指定哪些密钥可以服务哪些模型：JSON 对象，键为模型名或通配符，值为逗号分隔的密钥标签，例如 {"gemini-2.5-pro*": "paid", "*flash*": "free,paid"}。在密钥列表中为密钥设置标签、权重和项目。未匹配的模型可使用所有密钥。`, Widget("map"))
	KeyModelLimits = define("KEY_MODEL_LIMITS", map[string]string{}, GroupModels,
		`Requests each key may make per minute and per day for a model, as a JSON object from a model name or glob to "RPM/RPD", e.g. {"gemini-2.5-pro": "5/100", "gemini-2.5-flash*": "10/250"} (Google's free tier). A key at its cap is skipped for that model until the minute turns, or until midnight Pacific time for the day, instead of being sent on to collect a 429; counts are shared between instances through Redis. Models that match nothing have no cap. (gemgate only.)`,
		`每个密钥对某个模型每分钟和每天可发出的请求数：JSON 对象，键为模型名或通配符，值为 "每分钟/每天"，例如 {"gemini-2.5-pro": "5/100", "gemini-2.5-flash*": "10/250"}（Google 免费层级）。达到上限的密钥在该模型上会被跳过，直到下一分钟，或按天计时到太平洋时间零点，而不是继续发送去换来 429；多实例时通过 Redis 共享计数。未匹配的模型不设上限。（gemgate 新增）`,
		Checked(checkKeyLimits))
	EmptyResponseRetries = define("EMPTY_RESPONSE_RETRIES", 2, GroupModels,
		"Retries on another key when Gemini answers 200 with no text (or thoughts only) and the finish reason does not explain it (not SAFETY, MAX_TOKENS, RECITATION); 0 turns it off.",
		"当 Gemini 返回 200 却没有正文（或只有思考内容）且结束原因无法解释（非 SAFETY、MAX_TOKENS、RECITATION）时，换密钥重试的次数；0 表示关闭。",
		Range(0, 10))
	SafetySettings = define("SAFETY_SETTINGS", []map[string]string{
		{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"},
		{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"},
		{"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "threshold": "OFF"},
		{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "OFF"},
		{"category": "HARM_CATEGORY_CIVIC_INTEGRITY", "threshold": "BLOCK_NONE"},
	}, GroupModels,
		"Safety settings added to requests that carry none of their own (a client's own safetySettings are never replaced, unlike Gemini Balance).",
		"为未自带安全设置的请求添加的 safetySettings（与 Gemini Balance 不同，客户端自带的不会被替换）。", Widget("safety"), ItemOptions(map[string][]string{"category": HarmCategories, "threshold": HarmThresholds}))
)

// Text to speech (tab TTS 配置).
var (
	TTSModel = define("TTS_MODEL", "gemini-2.5-flash-preview-tts", GroupTTS,
		"Model used by the OpenAI-style /v1/audio/speech route, e.g. gemini-2.5-flash-preview-tts or gemini-2.5-pro-preview-tts.",
		"OpenAI 格式 /v1/audio/speech 使用的模型，例如 gemini-2.5-flash-preview-tts 或 gemini-2.5-pro-preview-tts。", required(), Widget("model"))
	TTSVoiceName = define("TTS_VOICE_NAME", "Zephyr", GroupTTS,
		"Gemini voice used when the request names no Gemini voice (OpenAI names such as alloy fall back to it), e.g. Zephyr, Puck, Kore.",
		"请求未指定 Gemini 音色时使用的音色（alloy 等 OpenAI 音色名也会回退到此），例如 Zephyr、Puck、Kore。", required(), Widget("suggest"), Suggest(GeminiVoices...))
	TTSSpeed = define("TTS_SPEED", "normal", GroupTTS,
		"Speaking speed asked of the TTS model: slow, normal or fast.",
		"要求 TTS 模型使用的语速：slow（慢）、normal（正常）或 fast（快）。", OneOf("slow", "normal", "fast"))
	TranscriptionModel = define("TRANSCRIPTION_MODEL", "gemini-2.5-flash", GroupTTS,
		"Gemini model that serves the OpenAI-style /v1/audio/transcriptions and /v1/audio/translations (speech to text) when the request names an OpenAI model such as whisper-1; a request naming a Gemini model (or alias) uses that one. (gemgate only.)",
		"OpenAI 格式语音转文字接口 /v1/audio/transcriptions 和 /v1/audio/translations 使用的 Gemini 模型，用于请求指定 whisper-1 等 OpenAI 模型时；请求指定 Gemini 模型（或别名）时使用该模型。（gemgate 新增）", required())
)

// Image generation and hosting (tab 图像生成).
var (
	PaidKey = define("PAID_KEY", "", GroupImage,
		"API key of a paid (billing-enabled) project, used for Imagen and the <CREATE_IMAGE_MODEL>-chat model.",
		"已开通结算的付费项目的 API 密钥，用于 Imagen 及 <CREATE_IMAGE_MODEL>-chat 模型。", Secret())
	CreateImageModel = define("CREATE_IMAGE_MODEL", "imagen-3.0-generate-002", GroupImage,
		"Imagen model for /v1/images/generations; it also names the chat model <model>-chat that draws the last message.",
		"/v1/images/generations 使用的 Imagen 模型；同时提供以最后一条消息作图的对话模型 <模型>-chat。", required(), Widget("model"))
	UploadProvider = define("UPLOAD_PROVIDER", ProviderLocal, GroupImage,
		"Where generated images are stored for links: local (default: gemgate keeps and serves them itself, no image host needed; Gemini Balance defaulted to smms), smms, picgo, cloudflare_imgbed or aliyun_oss. Case does not matter.",
		"生成图片的存放位置：local（默认，由 gemgate 自己保存并提供访问，无需图床；Gemini Balance 默认为 smms）、smms、picgo、cloudflare_imgbed 或 aliyun_oss。不区分大小写。",
		OneOf(ProviderLocal, ProviderSMMS, ProviderPicGo, ProviderCloudflareImgbed, ProviderAliyunOSS))
	LocalImageTTLHours = define("LOCAL_IMAGE_TTL_HOURS", 72, GroupImage,
		"Hours a locally stored image is kept before it is deleted (UPLOAD_PROVIDER=local). (gemgate only.)",
		"本地保存的图片保留的小时数，到期删除（UPLOAD_PROVIDER=local 时）。（gemgate 新增）", AtLeast(1), ShownWhen(UploadProvider, ProviderLocal))
	LocalImageMaxMB = define("LOCAL_IMAGE_MAX_MB", 10, GroupImage,
		"Largest image stored locally, in MiB; a larger image is returned inline as a data: URL instead (UPLOAD_PROVIDER=local). (gemgate only.)",
		"本地保存的单张图片上限（MiB）；更大的图片改为以 data: URL 内嵌返回（UPLOAD_PROVIDER=local 时）。（gemgate 新增）", Range(1, 1024), ShownWhen(UploadProvider, ProviderLocal))
	SMMSSecretToken = define("SMMS_SECRET_TOKEN", "", GroupImage,
		"SM.MS API token (UPLOAD_PROVIDER=smms).", "SM.MS 图床 API 令牌（UPLOAD_PROVIDER=smms 时）。", Secret(), ShownWhen(UploadProvider, ProviderSMMS))
	PicGoAPIKey = define("PICGO_API_KEY", "", GroupImage,
		"PicGo / Chevereto API key (UPLOAD_PROVIDER=picgo).", "PicGo / Chevereto 图床 API 密钥（UPLOAD_PROVIDER=picgo 时）。", Secret(), ShownWhen(UploadProvider, ProviderPicGo))
	PicGoAPIURL = define("PICGO_API_URL", "https://www.picgo.net/api/1/upload", GroupImage,
		"PicGo / Chevereto upload URL; for a self-hosted server the key is sent as the key query parameter instead of the X-API-Key header.",
		"PicGo / Chevereto 上传地址；自建服务时密钥以 key 查询参数而非 X-API-Key 请求头发送。", required(), ShownWhen(UploadProvider, ProviderPicGo))
	CloudflareImgbedURL = define("CLOUDFLARE_IMGBED_URL", "", GroupImage,
		"CloudFlare-ImgBed upload endpoint, e.g. https://your-imgbed.pages.dev/upload (UPLOAD_PROVIDER=cloudflare_imgbed).",
		"CloudFlare-ImgBed 上传地址，例如 https://your-imgbed.pages.dev/upload（UPLOAD_PROVIDER=cloudflare_imgbed 时）。", ShownWhen(UploadProvider, ProviderCloudflareImgbed))
	CloudflareImgbedAuthCode = define("CLOUDFLARE_IMGBED_AUTH_CODE", "", GroupImage,
		"CloudFlare-ImgBed upload auth code.", "CloudFlare-ImgBed 上传认证码。", Secret(), ShownWhen(UploadProvider, ProviderCloudflareImgbed))
	CloudflareImgbedUploadFolder = define("CLOUDFLARE_IMGBED_UPLOAD_FOLDER", "", GroupImage,
		"CloudFlare-ImgBed folder to upload into, e.g. gemini; empty means the root.",
		"CloudFlare-ImgBed 上传目录，例如 gemini；留空为根目录。", ShownWhen(UploadProvider, ProviderCloudflareImgbed))
	OSSEndpoint = define("OSS_ENDPOINT", "", GroupImage,
		"Aliyun OSS endpoint, e.g. oss-cn-hangzhou.aliyuncs.com (UPLOAD_PROVIDER=aliyun_oss).",
		"阿里云 OSS 访问域名，例如 oss-cn-hangzhou.aliyuncs.com（UPLOAD_PROVIDER=aliyun_oss 时）。", ShownWhen(UploadProvider, ProviderAliyunOSS))
	OSSEndpointInner = define("OSS_ENDPOINT_INNER", "", GroupImage,
		"Aliyun OSS internal endpoint; kept for compatibility, Gemini Balance never used it either.",
		"阿里云 OSS 内网域名；仅为兼容保留，Gemini Balance 同样未使用。", ShownWhen(UploadProvider, ProviderAliyunOSS))
	OSSAccessKey = define("OSS_ACCESS_KEY", "", GroupImage,
		"Aliyun OSS AccessKey ID.", "阿里云 OSS AccessKey ID。", Secret(), ShownWhen(UploadProvider, ProviderAliyunOSS))
	OSSAccessKeySecret = define("OSS_ACCESS_KEY_SECRET", "", GroupImage,
		"Aliyun OSS AccessKey secret.", "阿里云 OSS AccessKey Secret。", Secret(), ShownWhen(UploadProvider, ProviderAliyunOSS))
	OSSBucketName = define("OSS_BUCKET_NAME", "", GroupImage,
		"Aliyun OSS bucket; uploaded images are made public-read.", "阿里云 OSS 存储桶名称；上传的图片设为公共读。", ShownWhen(UploadProvider, ProviderAliyunOSS))
	OSSRegion = define("OSS_REGION", "", GroupImage,
		"Aliyun OSS region, e.g. cn-hangzhou.", "阿里云 OSS 地域，例如 cn-hangzhou。", ShownWhen(UploadProvider, ProviderAliyunOSS))
)

// Streaming (tab 流式输出).
var (
	StreamOptimizerEnabled = define("STREAM_OPTIMIZER_ENABLED", false, GroupStream,
		"Smooth streamed text by re-chunking it into small pieces sent with a short delay (typewriter effect), on every streaming API: OpenAI chat and Responses, Anthropic Messages and native Gemini SSE streams (alt=sse). Gemini's text-only events are cut; the finish reason and usage stay on the last piece.",
		"将流式文本拆成小块并以短暂间隔发送，使输出更平滑（打字机效果），适用于所有流式接口：OpenAI 对话与 Responses、Anthropic Messages 以及原生 Gemini SSE 流（alt=sse）。只拆分仅含文本的 Gemini 事件；结束原因和用量只保留在最后一块。")
	StreamMinDelay = define("STREAM_MIN_DELAY", 0.016, GroupStream,
		"Delay between pieces for long text, in seconds (e.g. 0.016).",
		"长文本各小块之间的间隔（秒），例如 0.016。", AtLeast(0))
	StreamMaxDelay = define("STREAM_MAX_DELAY", 0.024, GroupStream,
		"Delay between pieces for short text, in seconds (e.g. 0.024); lengths in between are interpolated.",
		"短文本各小块之间的间隔（秒），例如 0.024；介于两者之间的长度按比例插值。", AtLeast(0))
	StreamShortTextThreshold = define("STREAM_SHORT_TEXT_THRESHOLD", 10, GroupStream,
		"Chunks of at most this many characters count as short text.",
		"不超过此字符数的数据块视为短文本。", AtLeast(1))
	StreamLongTextThreshold = define("STREAM_LONG_TEXT_THRESHOLD", 50, GroupStream,
		"Chunks of at least this many characters count as long text and are split into STREAM_CHUNK_SIZE pieces; shorter ones go out character by character.",
		"不少于此字符数的数据块视为长文本，按 STREAM_CHUNK_SIZE 拆分；较短的逐字符发送。", AtLeast(1))
	StreamChunkSize = define("STREAM_CHUNK_SIZE", 5, GroupStream,
		"Characters per piece when long text is split.", "拆分长文本时每块的字符数。", AtLeast(1))
	FakeStreamEnabled = define("FAKE_STREAM_ENABLED", false, GroupStream,
		"For streaming requests on every API (OpenAI chat and Responses, Anthropic Messages, native Gemini with alt=sse), call Gemini without streaming and send keep-alives until the whole answer is sent at once; helps where upstream streaming is unreliable.",
		"对所有接口的流式请求（OpenAI 对话与 Responses、Anthropic Messages、带 alt=sse 的原生 Gemini），以非流式方式调用 Gemini，期间发送保活数据，最后一次性返回完整回答；适用于上游流式不稳定的情况。")
	FakeStreamEmptyDataIntervalSeconds = define("FAKE_STREAM_EMPTY_DATA_INTERVAL_SECONDS", 5, GroupStream,
		"Seconds between keep-alives while a stream waits for Gemini: SSE comments on OpenAI streams, ping events on Anthropic streams, and, for native fake streams, an event with empty text (the genai SDKs reject comments).",
		"流式回答等待 Gemini 期间发送保活数据的间隔（秒）：OpenAI 流为 SSE 注释，Anthropic 流为 ping 事件，原生假流式为一个空文本事件（genai SDK 不接受注释）。", AtLeast(1))
	LiveIdleTimeout = define("LIVE_IDLE_TIMEOUT", 600, GroupStream,
		"Live API (BidiGenerateContent WebSocket): seconds a session may pass with no frame in either direction before gemgate closes it (both sides). (gemgate only.)",
		"Live API（BidiGenerateContent WebSocket）：会话在两个方向都没有任何帧的情况下最多保持的秒数，超过后 gemgate 关闭两端连接。（gemgate 新增）",
		Range(1, 86400))
	LiveMaxSessionMinutes = define("LIVE_MAX_SESSION_MINUTES", 60, GroupStream,
		"Live API: longest a session may last, in minutes, however busy; the client can resume it with its session resumption handle. (gemgate only.)",
		"Live API：单个会话最长持续时间（分钟），无论是否活跃；客户端可用会话恢复句柄继续。（gemgate 新增）",
		Range(1, 1440))
	LiveMaxFrameKB = define("LIVE_MAX_FRAME_KB", 8192, GroupStream,
		"Live API: largest WebSocket message accepted from either side, in KiB; a larger one closes the session with 1009 (message too big). (gemgate only.)",
		"Live API：双方单条 WebSocket 消息的最大大小（KiB）；超过时以 1009（消息过大）关闭会话。（gemgate 新增）",
		Range(16, 262144))
	LiveMaxSessionsPerToken = define("LIVE_MAX_SESSIONS_PER_TOKEN", 10, GroupStream,
		"Live API: how many sessions one client token may hold open at once through this instance (0 = no limit); more are refused with 429 before any key is used. Each session holds one of a key's few concurrent Live sessions at Google, so a shared gateway must not let one token take them all. (gemgate only.)",
		"Live API：同一个客户端令牌在本实例上最多同时打开的会话数（0 为不限制）；超出时在使用任何密钥之前返回 429。每个会话都会占用某个密钥在 Google 上为数不多的并发 Live 会话名额，共享的网关不能让一个令牌占满。（gemgate 新增）",
		Range(0, 100000))
)

// Scheduled jobs (tab 定时任务).
var (
	CheckIntervalHours = define("CHECK_INTERVAL_HOURS", 1, GroupScheduler,
		"Hours between re-checks of failed keys with TEST_MODEL; a key that answers is used again. 0 turns the check off.",
		"使用 TEST_MODEL 重新检测失败密钥的间隔（小时），检测通过的密钥恢复使用。0 表示关闭检测。", AtLeast(0))
	Timezone = define("TIMEZONE", "Asia/Shanghai", GroupScheduler,
		"IANA time zone of scheduled jobs, e.g. Asia/Shanghai or UTC; daily log clean-up runs at midnight in it.",
		"定时任务使用的 IANA 时区，例如 Asia/Shanghai 或 UTC；每日日志清理在该时区的零点执行。", required())
)

// Logging (tab 日志配置).
var (
	LogLevel = define("LOG_LEVEL", "INFO", GroupLogging,
		"Application log level: DEBUG, INFO, WARNING, ERROR or CRITICAL (case does not matter).",
		"应用日志级别：DEBUG、INFO、WARNING、ERROR 或 CRITICAL（不区分大小写）。",
		OneOf("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
	ErrorLogRecordRequestBody = define("ERROR_LOG_RECORD_REQUEST_BODY", false, GroupLogging,
		"Store the upstream request body with each error log; useful for debugging, but it keeps whole conversations and media in the database.",
		"在错误日志中保存上游请求体；便于排查，但会把完整对话和媒体内容存入数据库。")
	AutoDeleteErrorLogsEnabled = define("AUTO_DELETE_ERROR_LOGS_ENABLED", true, GroupLogging,
		"Delete error logs older than AUTO_DELETE_ERROR_LOGS_DAYS every day at midnight.",
		"每天零点删除早于 AUTO_DELETE_ERROR_LOGS_DAYS 天的错误日志。")
	AutoDeleteErrorLogsDays = define("AUTO_DELETE_ERROR_LOGS_DAYS", 7, GroupLogging,
		"Days error logs are kept when automatic deletion is on.",
		"开启自动删除时错误日志保留的天数。", AtLeast(1))
	AutoDeleteRequestLogsEnabled = define("AUTO_DELETE_REQUEST_LOGS_ENABLED", false, GroupLogging,
		"Delete request logs older than AUTO_DELETE_REQUEST_LOGS_DAYS every day at midnight; statistics only cover kept logs.",
		"每天零点删除早于 AUTO_DELETE_REQUEST_LOGS_DAYS 天的请求日志；统计只涵盖保留的日志。")
	AutoDeleteRequestLogsDays = define("AUTO_DELETE_REQUEST_LOGS_DAYS", 30, GroupLogging,
		"Days request logs are kept when automatic deletion is on.",
		"开启自动删除时请求日志保留的天数。", AtLeast(1))
	LogMaxRows = define("LOG_MAX_ROWS", 1000000, GroupLogging,
		"Size budget of each log table (request logs, error logs), in rows: every 10 minutes the oldest rows past it are removed, and the logs page says so. Keeps a flood or a long outage from filling the disk, whatever the deletion-by-age settings. (gemgate only.)",
		"每张日志表（请求日志、错误日志）的行数上限：每 10 分钟删除超出部分中最旧的行，并在日志页面提示。无论按天数自动删除是否开启，都能防止洪水请求或长时间故障占满磁盘。（gemgate 新增）",
		Range(100, 1e9))
	RequestLogMode = define("REQUEST_LOG_MODE", "all", GroupLogging,
		"What the request and error logs keep: all (a row for every request, and the error rows), failures (rows only for requests that failed or needed a retry, and the error rows) or none (no rows; for databases that grew too large). Statistics and token counts are kept in every mode. (gemgate only.)",
		"请求日志和错误日志保留的内容：all（每个请求一行，以及错误日志）、failures（仅保留失败或经过重试的请求，以及错误日志）或 none（不写日志行，适用于数据库已过大的情况）。各模式下统计和 token 用量都会保留。（gemgate 新增）",
		OneOf("all", "failures", "none"))
	StatsRetentionDays = define("STATS_RETENTION_DAYS", 400, GroupLogging,
		"Days the hourly statistics and the daily token counts (per key, model and client token) are kept; they are small, and outlive the raw logs. (gemgate only.)",
		"按小时的统计和按天的 token 用量（按密钥、模型、客户端令牌）保留的天数；这些数据很小，保留时间可远长于原始日志。（gemgate 新增）",
		AtLeast(90))
	LogBufferSize = define("LOG_BUFFER_SIZE", 10000, GroupLogging,
		"Finished requests held in memory while the database catches up with the logs; when it is full, log rows are dropped (and counted in /metrics) instead of slowing requests. Read at start. (gemgate only.)",
		"数据库写日志跟不上时在内存中暂存的请求数；缓冲区满时丢弃日志行（计入 /metrics），而不会拖慢请求。启动时读取。（gemgate 新增）",
		Range(100, 1000000))
	LogFormat = define("LOG_FORMAT", "text", GroupLogging,
		"Format of the application log on standard error: text (key=value lines) or json (one JSON object per line, for log collectors). (gemgate only.)",
		"标准错误输出上应用日志的格式：text（key=value 文本行）或 json（每行一个 JSON 对象，便于日志采集）。（gemgate 新增）",
		OneOf("text", "json"))
	MetricsToken = define("METRICS_TOKEN", "", GroupLogging,
		"Bearer token that Prometheus sends to read GET /metrics from an address outside METRICS_ALLOW_IPS; empty means the admin token (AUTH_TOKEN). (gemgate only.)",
		"Prometheus 从 METRICS_ALLOW_IPS 以外的地址读取 GET /metrics 时携带的 Bearer 令牌；留空则使用管理令牌（AUTH_TOKEN）。（gemgate 新增）",
		Secret())
	MetricsAllowIPs = define("METRICS_ALLOW_IPS", []string{"127.0.0.1/32", "::1/128"}, GroupLogging,
		`Addresses (IPs or CIDR ranges, e.g. ["10.0.0.0/8"]) that may read GET /metrics without a token. The connecting address counts, not X-Forwarded-For: behind a reverse proxy on the same machine every caller looks local, so empty this list there. (gemgate only.)`,
		`无需令牌即可读取 GET /metrics 的地址（IP 或 CIDR 网段，例如 ["10.0.0.0/8"]）。按连接地址判断而非 X-Forwarded-For：若在同机反向代理之后，所有请求都像是本机发出，此时请清空该列表。（gemgate 新增）`,
		Checked(checkPrefixes))
)

// Files API.
var (
	FilesCleanupEnabled = define("FILES_CLEANUP_ENABLED", true, GroupFiles,
		"Periodically delete expired uploaded files from the database and from Google.",
		"定期从数据库和 Google 删除已过期的上传文件。")
	FilesCleanupIntervalHours = define("FILES_CLEANUP_INTERVAL_HOURS", 1, GroupFiles,
		"Hours between clean-ups of expired files.", "清理过期文件的间隔（小时）。", AtLeast(1))
	FilesUserIsolationEnabled = define("FILES_USER_ISOLATION_ENABLED", true, GroupFiles,
		"Each client token sees and manages only the files it uploaded.",
		"每个客户端令牌只能查看和管理自己上传的文件。")
)

// Admin panel.
var (
	AdminSessionExpire = define("ADMIN_SESSION_EXPIRE", 3600, GroupAdmin,
		"How long an admin login lasts, in seconds (300–86400; 3600 is one hour).",
		"管理后台登录的有效期（秒，300–86400；3600 为一小时）。", Range(300, 86400))
	FrameAncestors = define("FRAME_ANCESTORS", []string{"https://huggingface.co"}, GroupAdmin,
		`Sites (besides gemgate itself) allowed to show the panel and API answers inside a frame, as CSP sources such as https://example.com or https://*.example.com. The default lets the Hugging Face Space page (https://huggingface.co/spaces/...) embed its own app; empty allows no other site. (gemgate only.)`,
		`除 gemgate 自身外，允许在框架（iframe）中显示管理后台和接口响应的网站，格式为 CSP 来源，例如 https://example.com 或 https://*.example.com。默认值允许 Hugging Face Space 页面（https://huggingface.co/spaces/...）嵌入其应用；留空则不允许任何其他网站。（gemgate 新增）`,
		Checked(checkFrameSources))
	GitHubRepoOwner = define("GITHUB_REPO_OWNER", "snailyp", GroupAdmin,
		"Owner of the GitHub repository checked for new releases; empty turns the update check off.",
		"检查新版本所用 GitHub 仓库的所有者；留空则关闭更新检查。")
	GitHubRepoName = define("GITHUB_REPO_NAME", "gemini-balance", GroupAdmin,
		"Name of the GitHub repository checked for new releases; empty turns the update check off.",
		"检查新版本所用 GitHub 仓库的名称；留空则关闭更新检查。")
)
