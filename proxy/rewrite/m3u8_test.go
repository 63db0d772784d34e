package rewrite

import (
	"strings"
	"testing"
)

func TestM3U8(t *testing.T) {
	const master = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",URI="https://rfe-ta.akamaized.net/a.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud2",NAME="Русский, 1",URI="/hls/ru/a.m3u8",DEFAULT=YES
#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS="mp4a.40.2,avc1.4d401f",RESOLUTION=720x480
https://gdb.rferl.org/hls/720p.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=640000
/hls/360p.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,URI="//gdb.rferl.org/hls/iframe.m3u8"
# a comment with https://gdb.rferl.org/x
`
	const masterWant = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",URI="https://rfe-ta.akamaized.net/a.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud2",NAME="Русский, 1",URI="/_z/gdb.rferl.org/hls/ru/a.m3u8",DEFAULT=YES
#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS="mp4a.40.2,avc1.4d401f",RESOLUTION=720x480
/_z/gdb.rferl.org/hls/720p.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=640000
/_z/gdb.rferl.org/hls/360p.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,URI="/_z/gdb.rferl.org/hls/iframe.m3u8"
# a comment with https://gdb.rferl.org/x
`
	const media = "#EXTM3U\r\n#EXT-X-TARGETDURATION:10\r\n#EXT-X-KEY:METHOD=AES-128,URI=\"HTTPS://WWW.RFERL.ORG:443/key?id=1\",IV=0x1\r\n" +
		"#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"720@0\"\r\n#EXTINF:9.97,\r\nseg1.ts\r\n#EXTINF:9.97,title\r\n  http://www.svoboda.org/seg2.ts  \r\n" +
		"#EXT-X-PART:DURATION=1,URI=\"//www.svoboda.org/p.mp4\"\r\n#EXT-X-ENDLIST"
	const mediaWant = "#EXTM3U\r\n#EXT-X-TARGETDURATION:10\r\n#EXT-X-KEY:METHOD=AES-128,URI=\"/key?id=1\",IV=0x1\r\n" +
		"#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"720@0\"\r\n#EXTINF:9.97,\r\nseg1.ts\r\n#EXTINF:9.97,title\r\n  /_z/www.svoboda.org/seg2.ts  \r\n" +
		"#EXT-X-PART:DURATION=1,URI=\"/_z/www.svoboda.org/p.mp4\"\r\n#EXT-X-ENDLIST"
	tests := []struct{ name, base, in, want string }{
		{"master on secondary host", "https://gdb.rferl.org/hls/master.m3u8", master, masterWant},
		{"media with CRLF", "https://www.rferl.org/hls/a.m3u8", media, mediaWant},
		{"site keeps root-relative", "https://www.rferl.org/a.m3u8", "#EXTM3U\n/a/b.ts\nc.ts\n", "#EXTM3U\n/a/b.ts\nc.ts\n"},
		{"empty", "https://www.rferl.org/a.m3u8", "", ""},
		{"no final newline", "https://www.rferl.org/a.m3u8", "https://gdb.rferl.org/a.ts", "/_z/gdb.rferl.org/a.ts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewriteAll(t, NewM3U8Writer, testDoc(t, tt.base), tt.in); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestM3U8LongLine(t *testing.T) {
	d := testDoc(t, "https://www.rferl.org/a.m3u8")
	long := "https://gdb.rferl.org/" + strings.Repeat("s", 3*window) + ".ts"
	comment := "#" + strings.Repeat("https://gdb.rferl.org/ ", window/10)
	in := comment + "\n" + long + "\nhttps://gdb.rferl.org/b.ts\n"
	want := comment + "\n" + d.URL(long) + "\n/_z/gdb.rferl.org/b.ts\n"
	if got := rewriteAll(t, NewM3U8Writer, d, in); got != want {
		t.Fatalf("got %.80q", got)
	}
}
