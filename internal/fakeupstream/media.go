package fakeupstream

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
)

// Media parts are encoded once; generating them per request would dominate a benchmark.
var (
	pngBase64 = base64.StdEncoding.EncodeToString(tinyPNG())
	pcmBase64 = base64.StdEncoding.EncodeToString(tonePCM())
)

// tinyPNG is a real 1×1 PNG, so clients that decode the image succeed.
func tinyPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.RGBA{R: 66, G: 133, B: 244, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

const (
	pcmRate    = 24000
	pcmSamples = pcmRate / 10
	pcmToneHz  = 440
)

// tonePCM is 100 ms of a 440 Hz tone as 16-bit little-endian mono, the format Gemini TTS returns
// (audio/L16;codec=pcm;rate=24000).
func tonePCM() []byte {
	out := make([]byte, 2*pcmSamples)
	for i := range pcmSamples {
		v := int16(8000 * math.Sin(2*math.Pi*pcmToneHz*float64(i)/pcmRate))
		binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
	}
	return out
}
