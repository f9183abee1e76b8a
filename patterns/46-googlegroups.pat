# 46-googlegroups.pat - Google Groups' notice that a message to a group
# was not accepted (no such group, or the sender may not post), written
# in the sender's language but always ending with the Groups help link.
reason rejected \bgroups\.google\.com/support/
