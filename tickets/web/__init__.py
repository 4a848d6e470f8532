"""UI parts both doors use (the portal and the console): form fields and the sign-in form.
Their template tags are in ``tickets.templatetags``, where Django looks for them."""
