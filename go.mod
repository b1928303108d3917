module github.com/icnnlab/icnnlab

go 1.26
