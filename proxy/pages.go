package proxy

import (
	"html/template"
	"net/http"
	"strings"
)

// messages are the words of the mirror's own pages in one language.
type messages struct {
	Lang        string
	Dir         string // "rtl" for languages written right to left, else ""
	Title       string // the mirror-list page's title: "Mirror addresses"
	StopsWorks  string // the footer link: "If this address stops working"
	Unreachable string // the origin is unreachable and nothing is cached
	NotFound    string // no such page on the mirror
	Busy        string // the origin rate cap is reached
	Addresses   string // "Other addresses of this mirror:"
}

var english = messages{
	Lang:        "en",
	Title:       "Mirror addresses",
	StopsWorks:  "If this address stops working",
	Unreachable: "This page cannot be loaded right now. Please try again in a few minutes.",
	NotFound:    "There is no such page on this mirror.",
	Busy:        "The mirror is busy. Please try again in a moment.",
	Addresses:   "Other addresses of this mirror:",
}

// siteLanguages gives the language of the RFE/RL services that do not
// publish in English, by site (and its subdomains).
var siteLanguages = []struct {
	m     messages
	sites []string
}{
	{messages{
		Lang:        "ru",
		Title:       "Адреса зеркала",
		StopsWorks:  "Если этот адрес перестанет работать",
		Unreachable: "Эта страница сейчас недоступна. Попробуйте ещё раз через несколько минут.",
		NotFound:    "На этом зеркале нет такой страницы.",
		Busy:        "Зеркало перегружено. Попробуйте ещё раз через минуту.",
		Addresses:   "Другие адреса этого зеркала:",
	}, []string{
		"svoboda.org", "currenttime.tv", "sibreal.org", "idelreal.org", "severreal.org",
		"kavkazr.com", "krymr.com", "factograph.info", "svoboda.mobi",
	}},
	{messages{
		Lang:        "uk",
		Title:       "Адреси дзеркала",
		StopsWorks:  "Якщо ця адреса перестане працювати",
		Unreachable: "Ця сторінка зараз недоступна. Спробуйте ще раз за кілька хвилин.",
		NotFound:    "На цьому дзеркалі немає такої сторінки.",
		Busy:        "Дзеркало перевантажене. Спробуйте ще раз за хвилину.",
		Addresses:   "Інші адреси цього дзеркала:",
	}, []string{"radiosvoboda.org"}},
	{messages{
		Lang:        "be",
		Title:       "Адрасы люстэрка",
		StopsWorks:  "Калі гэты адрас перастане працаваць",
		Unreachable: "Гэтая старонка зараз недаступная. Паспрабуйце яшчэ раз праз некалькі хвілін.",
		NotFound:    "На гэтым люстэрку няма такой старонкі.",
		Busy:        "Люстэрка перагружанае. Паспрабуйце яшчэ раз праз хвіліну.",
		Addresses:   "Іншыя адрасы гэтага люстэрка:",
	}, []string{"svaboda.org"}},
	{messages{
		Lang:        "fa",
		Dir:         "rtl",
		Title:       "نشانی\u200cهای آینه",
		StopsWorks:  "اگر این نشانی از کار افتاد",
		Unreachable: "این صفحه اکنون در دسترس نیست. لطفاً چند دقیقهٔ دیگر دوباره تلاش کنید.",
		NotFound:    "چنین صفحه\u200cای در این آینه وجود ندارد.",
		Busy:        "آینه پرمشغله است. لطفاً کمی بعد دوباره تلاش کنید.",
		Addresses:   "نشانی\u200cهای دیگر این آینه:",
	}, []string{"radiofarda.com"}},
}

// siteMessages returns the words for the language of the origin site.
func siteMessages(site string) messages {
	for _, l := range siteLanguages {
		for _, s := range l.sites {
			if site == s || strings.HasSuffix(site, "."+s) {
				return l.m
			}
		}
	}
	return english
}

// Footer returns the small, script-free link to the mirror-list page that
// HTML pages carry before </body>, in the language of site.
func Footer(site string) string {
	m := siteMessages(site)
	dir := ""
	if m.Dir != "" {
		dir = ` dir="` + m.Dir + `"`
	}
	return `<p` + dir + ` style="text-align:center;font:14px/1.4 sans-serif;margin:1em 0"><a href="` +
		MirrorsPath + `mirrors" rel="nofollow">` + template.HTMLEscapeString(m.StopsWorks) + `</a></p>`
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="{{.Lang}}"{{with .Dir}} dir="{{.}}"{{end}}><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Status}}</title></head>
<body style="font:16px/1.5 sans-serif;max-width:40em;margin:2em auto;padding:0 1em">
<h1>{{.Message}}</h1>
{{if .Mirrors}}<p>{{.Addresses}}</p>
<ul>{{range .Mirrors}}<li><a href="{{.}}" rel="noreferrer">{{.}}</a></li>{{end}}</ul>{{end}}
<p><small>{{.Status}}</small></p>
</body></html>
`))

// writeErrorPage answers with the mirror's own error page: in the site's
// language, listing the other public addresses of the mirror.
func (e *Edge) writeErrorPage(w http.ResponseWriter, status int, message func(messages) string) {
	m := siteMessages(strings.TrimPrefix(e.opts.Mapper.Site(), "www."))
	var mirrors []string
	if e.opts.MirrorLinks != nil {
		mirrors = e.opts.MirrorLinks()
	}
	h := w.Header()
	setSecurityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	errorPage.Execute(w, struct {
		messages
		Status  string
		Message string
		Mirrors []string
	}{m, http.StatusText(status), message(m), mirrors})
}
