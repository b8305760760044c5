from django.contrib.auth import views as auth_views
from django.urls import path

from ruralcast.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.password_change, name="password"),
    path("second-factor/", views.second_factor, name="second_factor"),
    path("second-factor/setup/", views.second_factor_setup, name="second_factor_setup"),
    path("second-factor/key/", views.second_factor_key, name="second_factor_key"),
    path("second-factor/recovery-codes/", views.recovery_codes_new, name="recovery_codes_new"),
    # Managing keys needs a verified session, so it lives outside /accounts/second-factor/.
    path("keys/", views.security_keys, name="security_keys"),
    path("keys/<int:key_id>/remove/", views.security_key_delete, name="security_key_delete"),
    path("users/", views.users, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<str:username>/", views.user_detail, name="user"),
    path("users/<str:username>/active/", views.user_set_active, name="user_active"),
    path("users/<str:username>/second-factor/reset/", views.user_second_factor_reset, name="user_second_factor_reset"),
    path("users/<str:username>/lockout/clear/", views.user_lockout_clear, name="user_lockout_clear"),
    path("grants/<int:grant_id>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
