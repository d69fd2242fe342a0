package main

import (
	"fmt"
	"strconv"
	"strings"
)

// MediaConfig bounds the files the bridge moves: customers' photos and
// videos into threads, agents' files to X.
type MediaConfig struct {
	MaxBytes ByteSize `yaml:"max_bytes" env:"XBRIDGE_MEDIA_MAX_BYTES" help:"largest file moved either way, e.g. 100MB, 1GB or a number of bytes; larger customer media are linked, larger agent files refused"`
}

// ByteSize is a size in bytes, written as a number or with a unit: 512KB,
// 100MB, 1GB (powers of 1024, as X and Slack count).
type ByteSize int64

// UnmarshalText reads "100MB", "1.5GB", "5242880".
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.ToUpper(strings.TrimSpace(string(text)))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return fmt.Errorf("%q is not a size; write it like 100MB, 1GB or 5242880", string(text))
	}
	*b = ByteSize(f * float64(mult))
	return nil
}
