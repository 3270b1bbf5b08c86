"""Sequential boto3 transfer, as the original job did.

boto3_transfer.py download <endpoint> <bucket> <dir>           list the bucket, download_file each object
boto3_transfer.py upload <endpoint> <bucket> <dir> <prefix>    upload_file each *.png in dir under prefix
"""
import os
import sys

import boto3
from botocore.config import Config

mode, endpoint, bucket, folder = sys.argv[1:5]
s3 = boto3.client(
    's3',
    endpoint_url=endpoint,
    aws_access_key_id='S3RVER',
    aws_secret_access_key='S3RVER',
    region_name='us-east-1',
    config=Config(s3={'addressing_style': 'path'}),
)
if mode == 'download':
    keys = []
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket):
        keys += [o['Key'] for o in page.get('Contents', [])]
    for key in keys:
        s3.download_file(bucket, key, os.path.join(folder, key))
    print(len(keys))
else:
    prefix = sys.argv[5]
    names = sorted(n for n in os.listdir(folder) if n.endswith('.png'))
    for name in names:
        s3.upload_file(os.path.join(folder, name), bucket, prefix + name, ExtraArgs={'ContentType': 'image/png'})
    print(len(names))
