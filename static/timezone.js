// The browser's time zone, told to the server in a cookie so that a requester's times are
// shown in it from the next page on (helpdesk/i18n.py). Nothing is sent when it is known.
(function () {
  var name = document.documentElement.getAttribute("data-tz-cookie");
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!name || !zone) return;
  var value = name + "=" + encodeURIComponent(zone);
  if (document.cookie.split("; ").indexOf(value) === -1) {
    document.cookie = value + "; path=/; max-age=31536000; samesite=lax";
  }
})();
