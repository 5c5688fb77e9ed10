// Login page: notices for the case of FAQ 1, the panel embedded in another site's iframe (Hugging Face
// Spaces), where the browser may refuse the login cookie.
'use strict';

(function () {
  const { t } = GG;
  let inFrame;
  try {
    inFrame = window.top !== window.self;
  } catch (e) {
    inFrame = true;
  }
  if (!inFrame) return;
  document.getElementById('framed').value = '1';

  // Over HTTPS the server sets a partitioned SameSite=None cookie that works in frames; a probe cookie
  // with the same attributes tells whether this browser accepts it here.
  const https = location.protocol === 'https:';
  let blocked = !https;
  if (https) {
    const attrs = '; path=/; SameSite=None; Secure; Partitioned';
    document.cookie = 'gemgate_probe=1; max-age=60' + attrs;
    blocked = !document.cookie.split('; ').includes('gemgate_probe=1');
    document.cookie = 'gemgate_probe=; max-age=0' + attrs;
  }
  if (!blocked) return;

  const url = new URL(location.href);
  url.searchParams.delete('e');
  document.getElementById('frame-notice-text').textContent = https ? t('frame.blocked') : t('frame.http');
  const link = document.getElementById('frame-notice-link');
  link.href = url.toString();
  document.getElementById('frame-notice').hidden = false;
})();
