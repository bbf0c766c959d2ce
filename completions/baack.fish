complete --keep-order --exclusive --command baack --arguments "(COMPLETE=fish baack -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
