module github.com/keepup/keepup

go 1.26.8
