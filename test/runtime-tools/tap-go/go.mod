module github.com/mndrix/tap-go

go 1.19
