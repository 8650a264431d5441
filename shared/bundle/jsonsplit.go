package bundle

import "encoding/json"

// A small splitter for JSON already checked by json.Valid: it cuts an
// object into its members, or an array into its elements, as raw slices
// of the input, in order. DecodeJSON needs the members in order and every
// repeated key, which encoding/json's map decoding hides, and its Token
// API costs a decoder, a buffer and a boxed token per value.
//
// Every function here assumes well-formed input; on anything else it
// returns early rather than panic, but the results mean nothing.

// members calls fn with each key (unescaped) and raw value of the object
// that obj holds.
func members(obj []byte, fn func(key string, val []byte)) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return
	}
	i = skipSpace(obj, i+1)
	for i < len(obj) && obj[i] == '"' {
		end := stringEnd(obj, i)
		key := unquote(obj[i:end])
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return
		}
		start := skipSpace(obj, i+1)
		end = valueEnd(obj, start)
		fn(key, obj[start:end])
		i = skipSpace(obj, end)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
}

// elements calls fn with the index and raw value of each element of the
// array that arr holds.
func elements(arr []byte, fn func(i int, val []byte)) {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return
	}
	i = skipSpace(arr, i+1)
	for n := 0; i < len(arr) && arr[i] != ']'; n++ {
		end := valueEnd(arr, i)
		if end <= i {
			return
		}
		fn(n, arr[i:end])
		i = skipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
}

// unquote unescapes a JSON string literal; most keys need no work.
func unquote(lit []byte) string {
	s := lit[1 : len(lit)-1]
	for _, c := range s {
		if c == '\\' {
			var out string
			_ = json.Unmarshal(lit, &out)
			return out
		}
	}
	return string(s)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string literal at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	// A number, true, false or null: up to the next delimiter.
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}
