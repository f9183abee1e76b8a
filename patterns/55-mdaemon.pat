# 55-mdaemon.pat - MDaemon: "The attached message had PERMANENT fatal
# delivery errors!" and "The following addresses did NOT receive a copy
# of your message:" then "> addr".
signature ^The attached message had PERMANENT fatal delivery errors
recipient did not receive a copy of your message:[ \t]*\n[\s>]*<?([^\s<>@]+@[^\s<>]+?)>?[ \t]*$
