# git init/add/commit/log in the working directory, with identities and dates fixed. The .git
# directory is removed at the end: its index records inode numbers, which differ between runs.
set -e
export GIT_AUTHOR_NAME=Vireo GIT_AUTHOR_EMAIL=vireo@example.org GIT_COMMITTER_NAME=Vireo
export GIT_COMMITTER_EMAIL=vireo@example.org GIT_AUTHOR_DATE='2024-01-02T03:04:05Z'
export GIT_COMMITTER_DATE='2024-01-02T03:04:05Z' GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
git init -q -b main .
printf 'one\n' > a.txt; printf 'two\n' > b.txt
git add a.txt b.txt
git commit -q -m 'first commit'
printf 'three\n' >> a.txt
git commit -q -am 'second commit'
git log --format='%H %an %ad %s' --date=iso-strict
git show --stat --format=%s HEAD
git cat-file -p HEAD^{tree}
git status --short
rm -rf .git
