// github.com/abbot/go-http-auth v0.4.0 has no go.mod; a directory replacement needs one.
module github.com/abbot/go-http-auth

go 1.16
