# 60-fml.pat - fml, the Japanese mailing list manager (From LIST-admin@,
# X-MLServer: fml ...): it returns a post it will not distribute with a
# notice naming the list in "<list@domain>." ("You are not a member of
# this mailing list <...>.", "Duplicated Message-ID in <...>.") and the
# post after "Original mail as follows:", often with a help paragraph
# before it that names the list's command address (taken as the start of
# the original, so that address is not read as a failed recipient).  The
# list is the recipient that refused the message.
signature ^You are not a member of this mailing list <[^\s<>@]+@[^\s<>]+>\.
signature ^Duplicated Message-ID in <[^\s<>@]+@[^\s<>]+>\.
signature \bfml \S+ has detected a loop condition so that\b
bounce subject \bNOT MEMBER article from\b
recipient ^(?:You are not a member of this mailing list|Duplicated Message-ID in) <([^\s<>@]+@[^\s<>]+)>\.
original ^Original mail as follows:
original ^If you know the general guide of this list
reason rejected \bNOT MEMBER article from\b|\bnot a member of this mailing list\b
reason systemerror ^Duplicated Message-ID in <|\bhas detected a loop condition\b
