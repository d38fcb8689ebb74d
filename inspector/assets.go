package inspector

import (
	"embed"
	"io/fs"
)

// The page: plain HTML, CSS and JavaScript, served as they are.
//
//go:embed assets
var embedded embed.FS

// assets is the page's files at their URL paths below /_/.
var assets, _ = fs.Sub(embedded, "assets")
