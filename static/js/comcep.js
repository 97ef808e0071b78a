/* ComCEP: progressive enhancement only; every feature works without JavaScript. */
