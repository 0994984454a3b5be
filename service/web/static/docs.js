// Swagger UI over the service's own contract; nothing is fetched from anywhere else.
"use strict";
window.addEventListener("load", function () {
  var target = document.getElementById("swagger-ui");
  target.textContent = "";
  window.ui = window.SwaggerUIBundle({
    url: "/openapi.yaml",
    domNode: target,
    validatorUrl: null, // the default badge would call validator.swagger.io
    deepLinking: false,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
