// Command gojson prints how Go's encoding/json writes strings and a string map, for the
// differential test of tether-notify's gojson module. Input on stdin: a JSON array of
// strings. Output: one line per string, "<hex of json.Marshal>\t<hex of an Encoder with
// SetEscapeHTML(false), trailing newline included>", then one line with the hex of
// json.Marshal of the map from each string to its index.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
)

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	var texts []string
	if err := json.Unmarshal(input, &texts); err != nil {
		fail(err)
	}
	index := map[string]string{}
	for i, text := range texts {
		html, err := json.Marshal(text)
		if err != nil {
			fail(err)
		}
		var plain bytes.Buffer
		encoder := json.NewEncoder(&plain)
		encoder.SetEscapeHTML(false)
		if err := encoder.Encode(text); err != nil {
			fail(err)
		}
		fmt.Printf("%s\t%s\n", hex.EncodeToString(html), hex.EncodeToString(plain.Bytes()))
		index[text] = strconv.Itoa(i)
	}
	sorted, err := json.Marshal(index)
	if err != nil {
		fail(err)
	}
	fmt.Println(hex.EncodeToString(sorted))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
