package demo

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"path"
	"strings"
)

// picture returns a small 16:9 image: a red band over a grey gradient.
func picture() image.Image {
	const w, h = 64, 36
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(150 + x), uint8(150 + x), uint8(160 + y), 255}
			if y < 6 {
				c = color.RGBA{0xc4, 0x16, 0x1c, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// images builds one resource per image extension.
func images() map[string]*resource {
	pic := picture()
	var p, j, g bytes.Buffer
	must(png.Encode(&p, pic))
	must(jpeg.Encode(&j, pic, &jpeg.Options{Quality: 75}))
	must(gif.Encode(&g, pic, &gif.Options{NumColors: 16}))
	jpg := newResource("image/jpeg", cacheAsset, j.Bytes())
	return map[string]*resource{
		".png":  newResource("image/png", cacheAsset, p.Bytes()),
		".jpg":  jpg,
		".jpeg": jpg,
		".gif":  newResource("image/gif", cacheAsset, g.Bytes()),
		".ico":  newResource("image/x-icon", cacheAsset, icon(p.Bytes(), pic.Bounds())),
		".svg":  newResource(typeSVG, cacheAsset, mustRead("assets/logo.svg")),
	}
}

// icon wraps a PNG image in an ICO container, which browsers accept.
func icon(pngData []byte, r image.Rectangle) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	binary.Write(&b, le, [3]uint16{0, 1, 1}) // reserved, type icon, count
	b.WriteByte(byte(r.Dx()))
	b.WriteByte(byte(r.Dy()))
	b.Write([]byte{0, 0})                  // palette, reserved
	binary.Write(&b, le, [2]uint16{1, 32}) // planes, bits per pixel
	binary.Write(&b, le, uint32(len(pngData)))
	binary.Write(&b, le, uint32(6+16)) // offset of the image
	b.Write(pngData)
	return b.Bytes()
}

func must(err error) {
	if err != nil {
		panic("demo: " + err.Error())
	}
}

// fontBytes is a stand-in web font: a WOFF2 signature and nothing usable.
// Browsers reject it and fall back to the next font in the stack.
var fontBytes = []byte("wOF2\x00\x01\x00\x00zerkalo demo font placeholder")

// Master and media playlists. Variants and segments are named both
// relative to the playlist and by absolute URL, as real ones can be.
func masterPlaylist(host, dir string) []byte {
	return []byte("#EXTM3U\n#EXT-X-VERSION:3\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=1500000,RESOLUTION=1280x720\nindex_720.m3u8\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=640x360\nhttps://" + host + dir + "index_360.m3u8\n")
}

func mediaPlaylist(host, dir, name string) []byte {
	stem := strings.TrimSuffix(name, ".m3u8")
	return []byte("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n" +
		"#EXTINF:2.000,\n" + stem + "_0.ts\n" +
		"#EXTINF:2.000,\nhttps://" + host + dir + stem + "_1.ts\n" +
		"#EXT-X-ENDLIST\n")
}

// segment is a tiny MPEG transport stream: a PAT packet followed by null
// packets, 188 bytes each.
func segment() []byte {
	const n = 4
	b := bytes.Repeat([]byte{0xff}, 188*n)
	pat := []byte{0x47, 0x40, 0x00, 0x10, 0x00, 0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00, 0x2a, 0xb1, 0x04, 0xb2}
	copy(b, pat)
	for i := 1; i < n; i++ {
		copy(b[188*i:], []byte{0x47, 0x1f, 0xff, 0x10})
	}
	return b
}

// hlsDir splits a playlist path into its directory (with slashes at both
// ends) and file name.
func hlsDir(p string) (dir, name string) {
	dir, name = path.Split(p)
	return dir, name
}
