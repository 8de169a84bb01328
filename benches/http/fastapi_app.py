"""The fastapi-cognito peer for benches/http/run.sh: GET /health and GET / (required auth).

Configured from the environment that run.sh sets from the minted pool (pool.env) and the
local JWKS URL: REGION, USERPOOL_ID, CLIENT_ID, JWKS_URL. Everything stays on 127.0.0.1.
"""

import os

from fastapi import Depends, FastAPI
from fastapi_cognito import CognitoAuth, CognitoSettings, CognitoToken
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    check_expiration: bool = True
    jwt_header_name: str = "Authorization"
    jwt_header_prefix: str = "Bearer"
    userpools: dict = {
        "bench": {
            "region": os.environ["REGION"],
            "userpool_id": os.environ["USERPOOL_ID"],
            "app_client_id": os.environ["CLIENT_ID"],
            "jwks_url": os.environ["JWKS_URL"],
        }
    }


app = FastAPI()
auth = CognitoAuth(settings=CognitoSettings.from_global_settings(Settings()))


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/")
def me(token: CognitoToken = Depends(auth.auth_required)):
    return {"sub": token.cognito_id, "username": token.username, "token_use": token.token_use,
            "client_id": token.client_id}
